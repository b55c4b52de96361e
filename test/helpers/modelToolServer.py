"""Runs tools/model/main.py commands for one test file, each in a child forked from this process, which has already
imported PyTorch: that import takes most of a short command's time. A child reads and writes the files a request
names as its stdin, stdout and stderr, and exits with the status `python3 main.py ARGS` would have.

Requests on stdin, one JSON object a line: {"args": [...], "stdin": path, "stdout": path, "stderr": path}.
Replies on stdout, one a line: {"status": exit code, or null when a signal ended the child}.
Usage: modelToolServer.py TOOLS_DIR. The server ends when its stdin closes.
"""
import json
import os
import sys
import traceback

control_in, control_out = sys.stdin, sys.stdout
sys.path.insert(0, sys.argv[1])
import main  # noqa: E402  (sets the process up as main.py does: huge pages, the interpreter with PyTorch, threads)


def run_child(req):
    for fd, path, flags in ((0, req['stdin'], os.O_RDONLY), (1, req['stdout'], os.O_WRONLY), (2, req['stderr'], os.O_WRONLY)):
        f = os.open(path, flags)
        os.dup2(f, fd)
        os.close(f)
    sys.stdin = open(0, encoding='utf-8', closefd=False)
    sys.stdout = open(1, 'w', encoding='utf-8', closefd=False)
    sys.stderr = open(2, 'w', encoding='utf-8', closefd=False)
    code = 0
    try:
        main.main(req['args'])
    except SystemExit as e:
        if isinstance(e.code, int) or e.code is None:
            code = e.code or 0
        else:
            print(e.code, file=sys.stderr)
            code = 1
    except BaseException:
        traceback.print_exc()
        code = 1
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


for line in control_in:
    request = json.loads(line)
    control_out.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid == 0:
        run_child(request)
    _, status = os.waitpid(pid, 0)
    print(json.dumps({'status': os.waitstatus_to_exitcode(status) if os.WIFEXITED(status) else None}), file=control_out, flush=True)
