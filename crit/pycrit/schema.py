"""The image schema: message classes built at run time from images.desc, the
FileDescriptorSet that `make` compiles from images/*.proto with protoc-c, and
the magic numbers that `make` reads from images/magic.h (magics.py)."""

import os

from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

from .errors import CritError

HERE = os.path.dirname(os.path.abspath(__file__))
DESC_PATH = os.path.join(HERE, "images.desc")


class Schema:
    """Every message type of images/*.proto, by its (package-less) name."""

    def __init__(self, path=DESC_PATH):
        try:
            with open(path, "rb") as f:
                raw = f.read()
        except OSError as e:
            raise CritError("%s: %s (run make in crit/)" % (path, e.strerror)) from None
        fds = descriptor_pb2.FileDescriptorSet()
        fds.ParseFromString(raw)
        self.pool = descriptor_pool.DescriptorPool()
        for fdp in fds.file:
            self.pool.Add(fdp)
        self.factory = message_factory.MessageFactory(self.pool)
        self.classes = {}

    def message(self, name):
        """The class of message @name; CritError when the schema lacks it."""
        cls = self.classes.get(name)
        if cls is None:
            try:
                desc = self.pool.FindMessageTypeByName(name)
            except KeyError:
                raise CritError("no message %s in images/*.proto" % name) from None
            if hasattr(message_factory, "GetMessageClass"):
                cls = message_factory.GetMessageClass(desc)
            else:
                cls = self.factory.GetPrototype(desc)
            self.classes[name] = cls
        return cls


_schema = None


def get():
    global _schema
    if _schema is None:
        _schema = Schema()
    return _schema
