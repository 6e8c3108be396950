"""Password policy (R-SEC-1): length and character classes from the security policy."""

import string

from django.core.exceptions import ValidationError

CLASSES = (
    ("大写字母", set(string.ascii_uppercase)),
    ("小写字母", set(string.ascii_lowercase)),
    ("数字", set(string.digits)),
)


def character_classes(password: str) -> int:
    count = sum(1 for _, chars in CLASSES if any(c in chars for c in password))
    symbols = any(not c.isascii() or not c.isalnum() for c in password)
    return count + symbols


class PolicyValidator:
    """Django password validator reading the live ``SecurityPolicy``."""

    def validate(self, password, user=None):
        from .models import SecurityPolicy

        policy = SecurityPolicy.current()
        errors = []
        if len(password) < policy.min_password_length:
            errors.append(
                ValidationError(
                    f"密码长度至少 {policy.min_password_length} 位。", code="password_too_short"
                )
            )
        if character_classes(password) < policy.password_classes:
            errors.append(
                ValidationError(
                    f"密码须包含大写字母、小写字母、数字、符号中的至少 {policy.password_classes} 类。",
                    code="password_too_simple",
                )
            )
        if errors:
            raise ValidationError(errors)

    def get_help_text(self):
        from .models import SecurityPolicy

        policy = SecurityPolicy.current()
        return (
            f"至少 {policy.min_password_length} 位，包含大写字母、小写字母、数字、符号中的"
            f"至少 {policy.password_classes} 类。"
        )
