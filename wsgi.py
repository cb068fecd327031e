"""WSGI entry point: `python serve.py` (production), or `flask --app wsgi run`."""
import gc

from idp import create_app

app = create_app()
# The application's own objects live as long as the process: keep them out of the cyclic
# garbage collector, whose full passes over them would stall a worker 100-200 ms.
gc.freeze()
