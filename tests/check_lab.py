"""`make lab`, headless: the server starts (as root too), lists the notebooks through its REST
API, and is stopped again. Run by `make test-lab`; exits non-zero on failure.
"""

import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main():
    port, token = free_port(), secrets.token_hex(16)
    options = f"--no-browser --ip=127.0.0.1 --port={port} --IdentityProvider.token={token}"
    log = tempfile.TemporaryFile(mode="w+")
    server = subprocess.Popen(["make", "--no-print-directory", "lab", f"LAB_OPTIONS={options}"],
                              cwd=ROOT, start_new_session=True, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/api/contents?token={token}"  # the root is notebooks/
    try:
        deadline, listing, error = time.monotonic() + 120, None, "no answer"
        while time.monotonic() < deadline and server.poll() is None:
            try:
                with urllib.request.urlopen(url, timeout=5) as response:
                    listing = json.load(response)
                break
            except urllib.error.HTTPError as http_error:  # the server answered: no point waiting
                error = f"HTTP {http_error.code}"
                break
            except OSError:  # not listening yet
                time.sleep(1)
        if listing is None:
            os.killpg(server.pid, signal.SIGTERM)
            server.wait(timeout=30)
            log.seek(0)
            print(log.read()[-5000:])
            sys.exit(f"make lab: {error} from {url.split('?')[0]} (make exit code {server.poll()})")
        served = sorted(item["name"] for item in listing["content"] if item["type"] == "notebook")
        expected = sorted(p.name for p in (ROOT / "notebooks").glob("*.ipynb"))
        if served != expected:
            sys.exit(f"make lab lists {served}, expected {expected}")
        print(f"make lab: Jupyter Lab served {len(served)} notebooks on port {port} as uid {os.getuid()}")
    finally:
        if server.poll() is None:
            os.killpg(server.pid, signal.SIGTERM)
            try:
                server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(server.pid, signal.SIGKILL)
                server.wait()
    print("make lab: server stopped")


if __name__ == "__main__":
    main()
