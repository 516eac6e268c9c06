"""gunicorn's settings for the web process, in one place: `gunicorn -c python:config.gunicorn`
runs the site (the systemd unit in deploy/, `./dev stack` and the tests' stack start it so).
Command-line options given after it win (`--bind`, `--workers`).

Why these values (docs/operations.md, "The web server"):
- sync workers behind nginx, which takes 1C's uploads and slow clients off their hands (it
  passes a request on once it has the whole body);
- `preload_app`: Django and Prefect's client are imported once, in the master, so a worker
  that is recycled or killed is replaced at once, well within 1C's 2 s poll;
- `timeout`: a 1C `file` request writes up to ONEC_EXCHANGE_FILE_LIMIT (100 MiB) to the staging
  disk; 120 s leaves room for a slow disk, and a worker stuck longer is killed and replaced;
- `max_requests` with jitter: workers are recycled now and then, so none grows without bound;
- the access log on stdout and errors on stderr, one line per event, for journald.
"""
import os
from pathlib import Path

wsgi_app = "config.wsgi:application"
bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("WEB_CONCURRENCY", "4"))
worker_class = "sync"
preload_app = True
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "120"))
graceful_timeout = 30
max_requests = 1000
max_requests_jitter = 100
accesslog = "-"
errorlog = "-"
# The workers' heartbeat files in memory: a busy disk (an import writing photos) never makes
# the master take a live worker for a hung one.
worker_tmp_dir = "/dev/shm" if Path("/dev/shm").is_dir() else None
