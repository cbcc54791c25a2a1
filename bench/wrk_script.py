"""wrk cycling through prepared requests: each its own path, bearer token and body.

A route whose answer depends on who asks (a user's list, a case only its people may see) is
measured over many users at once: the requests are written one a line to a file, which a Lua
script reads in each wrk thread and walks round, every thread from its own place. A POST gets
a fresh Idempotency-Key each time, so every request files a new case.
"""

from __future__ import annotations

import secrets
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from errors import BenchError
from load_generators import REQUEST_TIMEOUT_S, WRK_THREADS, Generator, Measurement, parse_wrk

# The requests file: method, path, bearer token and body (may be empty), tab-separated.
SCRIPT = r"""
local requests = {}
local position = 0
local sent = 0
local nonce = "run"
local threads = 0

function setup(thread)
  thread:set("thread_number", threads)
  threads = threads + 1
end

function init(args)
  for line in io.lines(args[1]) do
    local method, path, token, body = line:match("^([^\t]*)\t([^\t]*)\t([^\t]*)\t(.*)$")
    requests[#requests + 1] = {method, path, "Bearer " .. token, body}
  end
  nonce = args[2] or nonce
  -- Threads start apart, so two connections rarely ask the same thing at once.
  position = (thread_number or 0) * math.floor(#requests / 7 + 1) % #requests
end

function request()
  position = position % #requests + 1
  local r = requests[position]
  if r[1] == "POST" then
    sent = sent + 1
    return wrk.format("POST", r[2], {["Authorization"] = r[3],
      ["Content-Type"] = "application/json",
      ["Idempotency-Key"] = nonce .. "-" .. (thread_number or 0) .. "-" .. sent}, r[4])
  end
  return wrk.format(r[1], r[2], {["Authorization"] = r[3]})
end
"""


@dataclass(frozen=True)
class PreparedRequest:
    method: str
    path: str
    token: str
    body: str = ""


def write_requests(path: Path, requests: list[PreparedRequest]) -> Path:
    """The requests file the script reads."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="\n") as out:
        for r in requests:
            if "\t" in r.path + r.body or "\n" in r.path + r.body:
                raise BenchError(f"a prepared request has a tab or newline: {r.path}")
            out.write(f"{r.method}\t{r.path}\t{r.token}\t{r.body}\n")
    return path


def scripted_generator(requests_file: Path, work_dir: Path) -> Generator:
    """A generator whose `measure(url, …)` sends the file's requests to the host of `url`.

    Each run keys its POSTs with a nonce of its own: a key used again would answer with the
    case filed first (200) instead of filing one."""
    wrk = shutil.which("wrk")
    if wrk is None:
        raise BenchError("wrk is not installed (`apt-get install wrk`); this benchmark needs it")
    script = work_dir / "prepared_requests.lua"
    script.parent.mkdir(parents=True, exist_ok=True)
    script.write_text(SCRIPT, encoding="utf-8")
    version = subprocess.run([wrk, "-v"], capture_output=True, text=True, check=False)
    name = (version.stdout + version.stderr).split("[")[0].strip() or "wrk"

    def measure(url: str, duration_s: int, connections: int) -> Measurement:
        command = [wrk, f"-t{min(WRK_THREADS, connections)}", f"-c{connections}",
                   f"-d{duration_s}s", "--timeout", f"{REQUEST_TIMEOUT_S:.0f}s", "--latency",
                   "-s", str(script), url, "--", str(requests_file), secrets.token_hex(6)]
        done = subprocess.run(command, capture_output=True, text=True,
                              timeout=duration_s + 60, check=False)
        if done.returncode != 0:
            raise BenchError(f"wrk failed on {url}:\n{done.stdout}{done.stderr}")
        return parse_wrk(done.stdout)

    return Generator(f"{name}, {WRK_THREADS} threads, Lua script over prepared requests",
                     measure)
