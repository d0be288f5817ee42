//! The embedded store's change feed, read as the event source mapping reads the table's
//! stream ([`crate::stream`]): polled from its start, each batch of records handed to the
//! stream function linked in, and read again from the first record the function did not do,
//! up to the mapping's retries. The embedded store lives in this process, so only the
//! functions linked in read it; `--lambda` runs on DynamoDB Local and its stream.

use std::sync::Arc;

use sam_template::StreamFunction;
use shared::storage::MemoryStore;

use crate::invoke::Functions;
use crate::stream::{IDLE_POLL, hand_over};

/// Reads the feed of `store` for `mapping` for as long as the gateway runs, handing each
/// batch over `delivered` times.
pub fn start(store: Arc<MemoryStore>, mapping: StreamFunction, functions: Arc<Functions>, delivered: u32) {
    tokio::spawn(async move {
        let mut read_up_to: Option<String> = None;
        let mut batches = 0u64;
        loop {
            let records = store.changes_after(read_up_to.as_deref(), mapping.batch_size);
            let Some(last) = records.last().map(|record| record.sequence_number.clone()) else {
                tokio::time::sleep(IDLE_POLL).await;
                continue;
            };
            batches += 1;
            let (records, mapping, functions) = (&records, &mapping, &functions);
            for _ in 0..delivered {
                hand_over(mapping, records.len(), |from, attempt| async move {
                    let request_id = format!("stream-{}-{batches}-{attempt}", mapping.function);
                    match functions.invoke_changes(&mapping.binary, records[from..].to_vec(), &request_id).await {
                        Ok(None) => Ok(None),
                        Ok(Some(failed)) => {
                            records.iter().position(|r| r.sequence_number == failed).map(Some).ok_or(failed)
                        }
                        Err(error) => {
                            tracing::warn!(%error, "the stream function failed");
                            Ok(Some(from))
                        }
                    }
                })
                .await;
            }
            read_up_to = Some(last);
        }
    });
}
