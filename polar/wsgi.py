import os

from django.core.wsgi import get_wsgi_application

# Served processes default to production settings, which refuse to start without their secrets: a forgotten
# variable must not fall back to the public development key. `make demo` sets polar.settings.base itself.
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "polar.settings.production")

application = get_wsgi_application()
