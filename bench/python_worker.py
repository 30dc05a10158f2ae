"""The long-lived reference process of bench/python_worker.ts: torch (or numpy) is imported once
by the first script, and each later script runs in this same process.

Protocol: one JSON request per line on stdin, one JSON reply per line on stdout.
  {"script": path, "argv": [...]}       runs the file as __main__ with sys.argv = [path, *argv]
  {"code": text, "env": {name: value}}  runs the text as __main__ with those variables in os.environ
Reply: {"stdout": what the script printed, "stderr": ...}, or {"error": "Type: message", "stderr": ...}.
sys.exit(0) in a script is a normal end. The process ends when stdin closes."""
import contextlib
import gc
import io
import json
import os
import runpy
import sys
import traceback

reply_to = sys.stdout
for line in sys.stdin:
    request = json.loads(line)
    out, err = io.StringIO(), io.StringIO()
    env_before = dict(os.environ)
    os.environ.update(request.get("env", {}))
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                if "script" in request:
                    sys.argv = [request["script"], *request.get("argv", [])]
                    runpy.run_path(request["script"], run_name="__main__")
                else:
                    sys.argv = ["-c"]
                    exec(compile(request["code"], "<bench script>", "exec"), {"__name__": "__main__"})
            except SystemExit as e:
                if e.code not in (None, 0):
                    raise
        reply = {"stdout": out.getvalue(), "stderr": err.getvalue()}
    except BaseException as e:  # noqa: BLE001 (any failure of the script is its reply)
        reply = {"error": f"{type(e).__name__}: {e}", "stderr": err.getvalue() + traceback.format_exc()}
    finally:
        os.environ.clear()
        os.environ.update(env_before)
        gc.collect()  # the script's tensors, before the other side's timing
    reply_to.write(json.dumps(reply) + "\n")
    reply_to.flush()
