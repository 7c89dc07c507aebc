"""The one exception crit reports: a message that names what is wrong, printed
on one line after the name of the file it concerns."""


class CritError(Exception):
    pass
