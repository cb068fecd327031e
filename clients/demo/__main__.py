"""`python -m clients.demo`: serve the demo relying service on 127.0.0.1:$DEMO_PORT."""
from .app import create_app, load_settings

settings = load_settings()
print(f" * Demo relying service for {settings['issuer']}: open http://127.0.0.1:{settings['port']}/")
# Never debug mode: the point of the error page is that the browser sees no stack trace.
create_app(settings).run(host="127.0.0.1", port=settings["port"], debug=False)
