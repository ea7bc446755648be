"""QR self check-in: officials mark themselves present at a session by scanning a code on the screen.

`tokens` makes and reads the signed codes, `services` writes (through the register's own service,
so a check-in is a mark like any other, in the history and undoable), `selectors` reads, and
`views` holds the staff's screen, the public page the code opens and the walk-ins' handling.
"""
