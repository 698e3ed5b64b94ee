"""Domain errors. Services raise these; the API layer renders them in Polar's shape
``{"error": <name>, "detail": <message>}`` with the status named here.

Add a new error by subclassing with its Polar name and status; nothing else needs to change.
"""


class PolarError(Exception):
    status_code = 400
    error = "BadRequest"

    def __init__(self, detail: str | None = None):
        self.detail = detail or self.default_detail()
        super().__init__(self.detail)

    def default_detail(self) -> str:
        return self.error

    def as_payload(self) -> dict:
        return {"error": self.error, "detail": self.detail}


class ResourceNotFound(PolarError):
    status_code = 404
    error = "ResourceNotFound"

    def default_detail(self):
        return "Not found"


class NotPermitted(PolarError):
    status_code = 403
    error = "NotPermitted"


class Unauthorized(PolarError):
    status_code = 401
    error = "Unauthorized"


class ConflictError(PolarError):
    status_code = 409
    error = "Conflict"


class PolarRequestValidationError(PolarError):
    """Invalid input that services detect (after serializers): rendered as a 422 list of errors."""

    status_code = 422
    error = "RequestValidationError"

    def __init__(self, errors: list[dict]):
        # errors: [{"loc": [...], "msg": "...", "type": "..."}]
        self.errors = errors
        super().__init__(errors[0]["msg"] if errors else "Invalid input")

    @classmethod
    def single(cls, loc: list, msg: str, type_: str = "value_error"):
        return cls([{"loc": list(loc), "msg": msg, "type": type_}])

    def as_payload(self) -> dict:
        return {"detail": self.errors}
