"""Check and normalise what identifies an asset or a subscription: IMEI, phone number, money.

Pure functions that raise ValueError with a readable text; imports and schemas share them.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

import phonenumbers

_SPACING = re.compile(r"[\s\-./]")


def luhn_ok(digits: str) -> bool:
    """The Luhn check (ISO/IEC 7812) over a string of digits, check digit last."""
    total = 0
    for i, char in enumerate(reversed(digits)):
        n = ord(char) - 48
        if i % 2:
            n *= 2
            if n > 9:
                n -= 9
        total += n
    return total % 10 == 0


def imei(value: str) -> str:
    """A 15-digit IMEI whose last digit is its Luhn check digit; spaces and dashes are dropped
    (device management shows IMEIs as "35 209900 176148 1")."""
    digits = _SPACING.sub("", value)
    if not digits.isdigit() or len(digits) != 15:
        raise ValueError(f"IMEI {value.strip()!r} is not 15 digits")
    if not luhn_ok(digits):
        raise ValueError(f"IMEI {digits} has a wrong check digit (the last digit must make the Luhn sum end in 0)")
    return digits


def phone_number(value: str, region: str = "SE") -> str:
    """The number in E.164 (+46701234567). A national number (070-123 45 67) is read as Swedish."""
    text = value.strip()
    if not text:
        raise ValueError("the phone number is empty")
    try:
        parsed = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        raise ValueError(f"{text!r} is not a phone number") from None
    if not phonenumbers.is_valid_number(parsed):
        raise ValueError(f"{text!r} is not a valid phone number")
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def extension(value: str) -> str:
    """An internal extension: 2 to 8 digits."""
    digits = _SPACING.sub("", value)
    if not digits.isdigit() or not 2 <= len(digits) <= 8:
        raise ValueError(f"extension {value.strip()!r} is not 2 to 8 digits")
    return digits


def ore(value: str | Decimal | float | int) -> int:
    """An amount in kronor ("299", "299,50", "1 299.00 kr", Decimal) as whole öre."""
    if isinstance(value, str):
        text = value.strip().lower().removesuffix("kr").removesuffix("sek").replace("\u00a0", "").replace(" ", "")
        if "," in text and "." not in text:
            text = text.replace(",", ".")
        try:
            amount = Decimal(text)
        except InvalidOperation:
            raise ValueError(f"{value.strip()!r} is not an amount in kronor") from None
    else:
        amount = Decimal(str(value))
    if not amount.is_finite() or amount < 0:
        raise ValueError(f"{value} is not an amount in kronor")
    if amount >= 10_000_000:
        raise ValueError(f"{value} kr is implausibly large")
    return int((amount * 100).quantize(Decimal(1)))


def kronor(value: int | None) -> float | None:
    """Whole öre as kronor, for reading."""
    return None if value is None else value / 100
