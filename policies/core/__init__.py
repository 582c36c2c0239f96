"""The pure decision core: value types, rules, wall-clock and rotation maths, iCal parsing; no I/O."""
