"""The one exception crit reports: a message that names what is wrong, printed
on one line after the name of the file it concerns."""


class CritError(Exception):
    pass


class MagicError(CritError):
    """The data has no magic crit knows (empty, too short, unknown value), or a
    dict names an image kind crit does not know. @magic: the value or name
    found, None when there was none."""

    def __init__(self, message, magic=None):
        super().__init__(message)
        self.magic = magic
