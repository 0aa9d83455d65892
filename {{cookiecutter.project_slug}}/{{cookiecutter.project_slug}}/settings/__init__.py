"""Settings, one module per environment.

base.py holds what every environment shares; dev.py (the default of manage.py and
celery), test.py (pytest) and prod.py (wsgi.py and asgi.py) each extend it.
"""
