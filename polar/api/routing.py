"""Both forms of every /v1/ path, as Polar's server serves them: ``/v1/products/`` and ``/v1/products``.

Routes are declared once, collections with their trailing slash (``products/``). ``slash_fallback`` is
routed last under ``v1/``: a path that matched nothing is tried again with a trailing slash, and when
that resolves, its view answers the request as it is (any method: a POST is never redirected, so its
body is never lost). Anything else stays Polar's JSON 404.
"""

from django.http import Http404
from django.urls import Resolver404, re_path, resolve
from django.views.decorators.csrf import csrf_exempt


@csrf_exempt  # the resolved API view decides (DRF views are exempt and authenticate with tokens)
def slash_fallback(request, rest: str):
    try:
        match = resolve(f"/v1/{rest}/")
    except Resolver404:
        raise Http404 from None
    if match.func is slash_fallback:
        raise Http404
    request.resolver_match = match
    return match.func(request, *match.args, **match.kwargs)


def slash_fallback_pattern():
    """Routed after every /v1/ route: paths without a trailing slash."""
    return re_path(r"^(?P<rest>.*[^/])$", slash_fallback, name="v1-slash-fallback")
