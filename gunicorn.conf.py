"""gunicorn settings for production: `gunicorn -c gunicorn.conf.py wsgi:app`.

Workers share nothing but PostgreSQL, Redis and the key folder; metrics from all of them
are summed through PROMETHEUS_MULTIPROC_DIR.
"""
import multiprocessing
import os
import tempfile

bind = os.environ.get("TUNNUS_BIND", "127.0.0.1:5000")
workers = int(os.environ.get("TUNNUS_WORKERS", multiprocessing.cpu_count()))
worker_class = "gthread"
threads = int(os.environ.get("TUNNUS_THREADS", 4))
timeout = 30
graceful_timeout = 20
keepalive = 5
# An empty TUNNUS_ACCESS_LOG turns the access log off (benchmarks).
accesslog = os.environ.get("TUNNUS_ACCESS_LOG", "-") or None
# The proxy in front terminates TLS; trust its X-Forwarded-* only from these addresses.
forwarded_allow_ips = os.environ.get("TUNNUS_FORWARDED_ALLOW_IPS", "127.0.0.1")

os.environ.setdefault("PROMETHEUS_MULTIPROC_DIR", tempfile.mkdtemp(prefix="tunnus-metrics-"))


def child_exit(server, worker):
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)
