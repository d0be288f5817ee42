"""A webhook receiver for support-chat: verifies each delivery, then takes it.

Run: WEBHOOK_SECRET=whsec_... python3 webhook_receiver.py 8080
It answers 204 to a delivery it verified (printing the event's id and type), 400 to one it
did not: a forged signature, or a timestamp more than five minutes off (a replay).
"""
import hashlib, hmac, http.server, json, os, sys, time

def verify(secret: str, header: str, body: bytes, tolerance: int = 300) -> bool:
    parts = dict(p.split("=", 1) for p in header.split(",") if "=" in p)
    try:
        t = int(parts["t"])
    except (KeyError, ValueError):
        return False
    if abs(time.time() - t) > tolerance:
        return False
    expected = hmac.new(secret.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, parts.get("v1", ""))

class Receiver(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        ok = verify(os.environ["WEBHOOK_SECRET"], self.headers.get("Support-Chat-Signature", ""), body)
        if ok:
            event = json.loads(body)  # deduplicate by event["id"]: a delivery may come twice
            print("took", event["id"], event["type"], flush=True)
        self.send_response(204 if ok else 400)
        self.end_headers()

    def log_message(self, *args):
        pass

if __name__ == "__main__":
    http.server.ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Receiver).serve_forever()
