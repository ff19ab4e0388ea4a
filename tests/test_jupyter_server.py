"""The notebooks as a JupyterLab reader runs them: a real Jupyter server, a kernel session opened through its REST
API, cells sent over the kernel's websocket one by one, small parameters typed in after the parameters cell.
The run lands under runs/<study>/interactive/ like any notebook started by hand."""

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from pathlib import Path

import nbformat
import pytest

from clustlib import profiles, results, runner

STUDY = "04_deepclue"  # the quickest study on its ci parameters (~10 s)
TOKEN = uuid.uuid4().hex


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _request(base: str, path: str, method: str = "GET", body: dict | None = None):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(f"{base}{path}", data=data, method=method,
                                 headers={"Authorization": f"token {TOKEN}", "Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=30) as response:
        text = response.read().decode()
        return response.status, (json.loads(text) if text and text.lstrip()[:1] in "{[" else text)


@pytest.fixture
def jupyter_server(isolated_project):
    port = _free_port()
    env = {**os.environ, "JUPYTER_PLATFORM_DIRS": "1", "JUPYTER_RUNTIME_DIR": str(isolated_project / "jupyter-runtime")}
    cmd = [sys.executable, "-m", "jupyterlab", "--no-browser", f"--port={port}", "--ip=127.0.0.1",
           f"--IdentityProvider.token={TOKEN}", f"--ServerApp.root_dir={profiles.notebooks_dir().parent}",
           "--ServerApp.open_browser=False", *(["--allow-root"] if os.geteuid() == 0 else [])]
    log = open(isolated_project / "jupyter.log", "w")
    proc = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(120):
            try:
                _request(base, "/api/status")
                break
            except OSError:
                if proc.poll() is not None:
                    raise RuntimeError((isolated_project / "jupyter.log").read_text()) from None
                time.sleep(0.5)
        else:
            raise RuntimeError("the Jupyter server did not answer within 60 s")
        yield base
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        log.close()


def _execute(ws, session: str, code: str, timeout: float = 300) -> list[dict]:
    """Send one execute_request on the kernel's websocket; return the iopub messages of that request."""
    msg_id = uuid.uuid4().hex
    ws.send(json.dumps({
        "header": {"msg_id": msg_id, "username": "reader", "session": session, "msg_type": "execute_request",
                   "version": "5.3"},
        "parent_header": {}, "metadata": {}, "channel": "shell", "buffers": [],
        "content": {"code": code, "silent": False, "store_history": True, "user_expressions": {},
                    "allow_stdin": False, "stop_on_error": True},
    }))
    iopub, reply, idle = [], None, False
    deadline = time.time() + timeout
    while (reply is None or not idle) and time.time() < deadline:
        msg = json.loads(ws.recv())
        if msg.get("parent_header", {}).get("msg_id") != msg_id:
            continue
        if msg["channel"] == "shell" and msg["msg_type"] == "execute_reply":
            reply = msg["content"]
        elif msg["channel"] == "iopub":
            iopub.append(msg)
            idle = idle or (msg["msg_type"] == "status" and msg["content"]["execution_state"] == "idle")
    assert reply is not None, f"no reply within {timeout} s to: {code[:80]}"
    errors = [m["content"] for m in iopub if m["msg_type"] == "error"]
    assert reply["status"] == "ok", (errors or reply, code[:200])
    return iopub


@pytest.mark.slow
def test_a_reader_runs_a_notebook_through_jupyterlab(jupyter_server, isolated_project):
    import websocket

    base = jupyter_server
    status, page = _request(base, "/lab")
    assert status == 200 and "jupyterlab" in page.lower()  # the JupyterLab front end is served
    notebook = f"notebooks/{STUDY}.ipynb"
    _, session = _request(base, "/api/sessions", "POST", {"path": notebook, "type": "notebook", "name": "",
                                                          "kernel": {"name": runner.kernel_name()}})
    kernel = session["kernel"]["id"]
    ws = websocket.create_connection(f"{base.replace('http', 'ws')}/api/kernels/{kernel}/channels?token={TOKEN}",
                                     timeout=300)
    try:
        small = {k: v for k, v in profiles.resolve_params(STUDY, "ci").items()}
        nb = nbformat.read(profiles.notebook_path(STUDY), as_version=4)
        outputs = []
        for cell in nb.cells:
            if cell.cell_type != "code":
                continue
            outputs += _execute(ws, session["id"], cell.source)
            if "parameters" in cell.metadata.get("tags", []):  # the reader edits the values after the defaults
                _execute(ws, session["id"], "\n".join(f"{k} = {v!r}" for k, v in small.items()))
    finally:
        ws.close()
        _request(base, f"/api/sessions/{session['id']}", "DELETE")
    shown = [m for m in outputs if m["msg_type"] == "display_data"]
    assert any("image/png" in m["content"]["data"] for m in shown)  # figures reach the reader inline
    (run_dir,) = (isolated_project / "runs" / STUDY / "interactive").iterdir()
    records = results.read_records(run_dir)
    assert len(records) > 0 and set(records["study"]) == {STUDY}
    assert (Path(run_dir) / "done.json").exists()
