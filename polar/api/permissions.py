from rest_framework.permissions import SAFE_METHODS, BasePermission


class HasTokenScopes(BasePermission):
    """A view names ``scope = "products"``: reads need ``products:read`` (or write), writes ``products:write``.

    A view may instead set ``required_scopes = {"GET": [...], "POST": [...]}``.
    """

    message = "Your access token does not have the scope this operation needs."

    def has_permission(self, request, view):
        principal = request.user
        if principal is None or not getattr(principal, "is_authenticated", False):
            return False
        required = self.required_scopes(request, view)
        if required is None:
            return True
        return any(scope in principal.scopes for scope in required)

    def required_scopes(self, request, view):
        explicit = getattr(view, "required_scopes", None)
        if explicit is not None:
            return explicit.get(request.method)
        scope = getattr(view, "scope", None)
        if scope is None:
            return None
        if request.method in SAFE_METHODS:
            return [f"{scope}:read", f"{scope}:write"]
        return [f"{scope}:write"]
