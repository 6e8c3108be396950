"""Phone numbers are shown masked (138****5678); the full number is a permission."""


def mask_phone(number: str | None) -> str:
    if not number:
        return ""
    digits = number.strip()
    if len(digits) >= 11:
        return digits[:3] + "****" + digits[-4:]
    if len(digits) >= 7:
        return digits[:2] + "*" * (len(digits) - 6) + digits[-4:]
    return "*" * len(digits)
