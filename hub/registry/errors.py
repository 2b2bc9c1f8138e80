"""The registry's refusals, each with the Confluent error code clients switch on.

    RegistryFault (error_code, http_status, message)
    ├── SubjectNotFound        40401  404
    ├── VersionNotFound        40402  404
    ├── SchemaNotFound         40403  404
    ├── SubjectNotSoftDeleted  40405  404
    ├── SubjectConfigNotFound  40408  404
    ├── IncompatibleSchema       409  409
    ├── BadRequestBody           422  422  (malformed JSON, wrong shape), 413 and 415 likewise
    ├── InvalidSchema          42201  422
    ├── InvalidVersion         42202  422
    ├── InvalidCompatibility   42203  422
    ├── InvalidSubject         42208  422
    └── StoreError             50001  500
"""

from __future__ import annotations


class RegistryFault(Exception):
    """A request the registry refuses; rendered as ``{"error_code": ..., "message": ...}``."""

    error_code = 50001
    http_status = 500

    def __init__(self, message: str, error_code: int | None = None, http_status: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        if error_code is not None:
            self.error_code = error_code
        if http_status is not None:
            self.http_status = http_status

    def body(self) -> dict[str, object]:
        return {"error_code": self.error_code, "message": self.message}


class SubjectNotFound(RegistryFault):
    error_code, http_status = 40401, 404

    def __init__(self, subject: str) -> None:
        super().__init__(f"Subject '{subject}' not found.")


class VersionNotFound(RegistryFault):
    error_code, http_status = 40402, 404

    def __init__(self, version: object) -> None:
        super().__init__(f"Version {version} not found.")


class SchemaNotFound(RegistryFault):
    error_code, http_status = 40403, 404


class SubjectNotSoftDeleted(RegistryFault):
    error_code, http_status = 40405, 404

    def __init__(self, subject: str) -> None:
        super().__init__(f"Subject '{subject}' was not deleted first before being permanently deleted")


class SubjectConfigNotFound(RegistryFault):
    error_code, http_status = 40408, 404

    def __init__(self, subject: str) -> None:
        super().__init__(
            f"Subject '{subject}' does not have subject-level compatibility configured; "
            "ask with ?defaultToGlobal=true for the level that applies"
        )


class IncompatibleSchema(RegistryFault):
    error_code, http_status = 409, 409

    def __init__(self, subject: str, messages: list[str]) -> None:
        super().__init__(
            f'Schema being registered is incompatible with an earlier schema for subject "{subject}", '
            f"details: [{'; '.join(messages)}]"
        )
        self.messages = messages


class BadRequestBody(RegistryFault):
    error_code, http_status = 422, 422


class InvalidSchema(RegistryFault):
    error_code, http_status = 42201, 422


class InvalidVersion(RegistryFault):
    error_code, http_status = 42202, 422

    def __init__(self, version: object) -> None:
        super().__init__(
            f"The specified version '{version}' is not a valid version id. "
            'Allowed values are between [1, 2^31-1] and the string "latest"'
        )


class InvalidCompatibility(RegistryFault):
    error_code, http_status = 42203, 422

    def __init__(self, level: object) -> None:
        super().__init__(
            f"Invalid compatibility level {str(level)[:80]!r}. Valid values are none, backward, forward, full, "
            "backward_transitive, forward_transitive, and full_transitive"
        )


class InvalidSubject(RegistryFault):
    error_code, http_status = 42208, 422


class StoreError(RegistryFault):
    error_code, http_status = 50001, 500
