//! What of the local gateway other tools use: running a function's built binary as Lambda
//! does ([`lambda`]), for the gateway's `--lambda` mode and for tests of the binaries.

pub mod lambda;
