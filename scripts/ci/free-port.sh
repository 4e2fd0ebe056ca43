#!/usr/bin/env bash
# Print a TCP port that is free on 127.0.0.1 right now (the kernel picks it).
# Callers should still retry on a bind failure: another process may take the
# port between this check and their own bind.
set -euo pipefail

if command -v node >/dev/null 2>&1 && node -e '
    const s = require("net").createServer();
    s.on("error", () => process.exit(1));
    s.listen(0, "127.0.0.1", () => { console.log(s.address().port); s.close(); });' 2>/dev/null; then
  exit 0
fi
if command -v python3 >/dev/null 2>&1 && python3 -c '
import socket
s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()' 2>/dev/null; then
  exit 0
fi
# last resort: a random high port that nothing answers on
for (( i = 0; i < 100; i++ )); do
  p=$(( 20000 + RANDOM % 12000 ))
  if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then echo "$p"; exit 0; fi
done
echo "free-port: no free port found" >&2
exit 1
