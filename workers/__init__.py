"""Celery edge: wraps the job code of `notify.jobs` as Celery tasks, queues and a beat schedule."""
