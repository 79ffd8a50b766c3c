"""The aws CLI kept running: its own entry point (awscli.clidriver, what the `aws` script calls) run once per
request, so that a test pays Python's and botocore's start-up once rather than on every check (about a second
of CPU each on a 2-core machine). Requests come as JSON lines on stdin: {"args": [...], "cwd": "..."}; each
answer goes as one JSON line to fd 3 (stdout is the CLI's): {"code", "stdout", "stderr"}, outputs in base64."""
import base64
import io
import json
import os
import sys

# SigV4A (the CloudFront KeyValueStore API) is signed by the AWS CRT, which PyPI would bring and cannot here;
# Debian's python3-awscrt can, when built for this Python. Appended, so this Python's own packages still come first.
DEBIAN_PACKAGES = "/usr/lib/python3/dist-packages"
try:
    import awscrt  # noqa: F401
except ImportError:
    if os.path.isdir(os.path.join(DEBIAN_PACKAGES, "awscrt")):
        sys.path.append(DEBIAN_PACKAGES)
        try:
            import awscrt  # noqa: F401,F811
        except ImportError:  # built for another Python: botocore says which dependency is missing
            sys.path.remove(DEBIAN_PACKAGES)

from awscli.clidriver import create_clidriver  # noqa: E402

driver = create_clidriver()
answers = os.fdopen(3, "w")
for line in sys.stdin:
    request = json.loads(line)
    out, err = io.BytesIO(), io.BytesIO()
    # Kept referenced until read: a wrapper that is collected closes the buffer under it.
    stdout = sys.stdout = io.TextIOWrapper(out, encoding="utf-8", write_through=True)
    stderr = sys.stderr = io.TextIOWrapper(err, encoding="utf-8", write_through=True)
    try:
        os.chdir(request["cwd"])
        code = driver.main(request["args"])
    except SystemExit as exit:
        code = exit.code if isinstance(exit.code, int) else (0 if exit.code is None else 1)
    except Exception as error:  # what the aws script would print before exiting 255
        stderr.write(f"\n{error}\n")
        code = 255
    stdout.flush()
    stderr.flush()
    answer = {"code": code, "stdout": base64.b64encode(out.getvalue()).decode(), "stderr": base64.b64encode(err.getvalue()).decode()}
    sys.stdout, sys.stderr = sys.__stdout__, sys.__stderr__
    answers.write(json.dumps(answer) + "\n")
    answers.flush()
