"""How `crit decode --pretty` shows some fields, as CRIU's crit does. CRIU
marks these fields with custom options in its .proto files (hex, ipadd, dev,
odev, flags, dict, conv); criu-ng's images/*.proto keep to plain proto2, so
the same marks live here, by message and field name. A message added to
images/ whose CRIU counterpart carries such marks gets its line here.

Without --pretty only bytes fields are converted (base64, or the field's
conv); every number stays a number."""

# message name -> {field name: {option: value}}
HEX = {"hex": True}
IPADD = {"ipadd": True}
DEV = {"dev": True}
ODEV = {"dev": True, "odev": True}


def _flags(name):
    return {"flags": name}


def _dict(name):
    return {"dict": name}


FIELDS = {
    "thread_info_x86": {"clear_tid_addr": HEX, "gpregs": HEX},
    "task_core_entry": {"task_state": _dict("gen"), "blk_sigset": HEX},
    "mm_entry": {name: HEX for name in ("mm_start_code", "mm_end_code", "mm_start_data", "mm_end_data",
                                        "mm_start_stack", "mm_start_brk", "mm_brk", "mm_arg_start",
                                        "mm_arg_end", "mm_env_start", "mm_env_end")},
    "vma_entry": {
        "start": HEX,
        "end": HEX,
        "prot": _flags("mmap.prot"),
        "flags": _flags("mmap.flags"),
        "status": _flags("mmap.status"),
        "madv": HEX,
        "fdflags": HEX,
    },
    "pagemap_entry": {"vaddr": HEX, "flags": _flags("pmap.flags")},
    "sa_entry": {"sigaction": HEX, "flags": HEX, "restorer": HEX, "mask": HEX},
    "reg_file_entry": {"flags": _flags("rfile.flags")},
    "ghost_file_entry": {"dev": DEV, "rdev": ODEV},
    "inet_sk_entry": {
        "family": _dict("sk"),
        "type": _dict("sk"),
        "proto": _dict("sk"),
        "state": _dict("sk"),
        "flags": HEX,
        "src_addr": IPADD,
        "dst_addr": IPADD,
    },
    "tcp_stream_entry": {"opt_mask": HEX},
    "tty_file_entry": {"flags": HEX},
    # Kinds criu-ng does not write yet, marked as in CRIU's schema.
    "unix_sk_entry": {"flags": HEX, "uflags": HEX, "name": {"conv": "unix_name"}},
    "memfd_inode_entry": {"seals": _flags("seals.flags")},
}

NO_OPTS = {}


def options(field):
    """The display options of a field descriptor (an empty dict for most)."""
    return FIELDS.get(field.containing_type.name, NO_OPTS).get(field.name, NO_OPTS)


# Bit names of the "flags" fields, in the order they are printed.
FLAG_BITS = {
    "mmap.prot": [("PROT_READ", 0x1), ("PROT_WRITE", 0x2), ("PROT_EXEC", 0x4)],
    "mmap.flags": [("MAP_SHARED", 0x1), ("MAP_PRIVATE", 0x2), ("MAP_DROPPABLE", 0x8), ("MAP_ANON", 0x20),
                   ("MAP_GROWSDOWN", 0x100)],
    "mmap.status": [
        ("VMA_AREA_REGULAR", 1 << 0),
        ("VMA_AREA_STACK", 1 << 1),
        ("VMA_AREA_VSYSCALL", 1 << 2),
        ("VMA_AREA_VDSO", 1 << 3),
        ("VMA_AREA_HEAP", 1 << 5),
        ("VMA_FILE_PRIVATE", 1 << 6),
        ("VMA_FILE_SHARED", 1 << 7),
        ("VMA_ANON_SHARED", 1 << 8),
        ("VMA_ANON_PRIVATE", 1 << 9),
        ("VMA_AREA_SYSVIPC", 1 << 10),
        ("VMA_AREA_SOCKET", 1 << 11),
        ("VMA_AREA_VVAR", 1 << 12),
        ("VMA_AREA_AIORING", 1 << 13),
        ("VMA_AREA_MEMFD", 1 << 14),
        ("VMA_AREA_SHSTK", 1 << 15),
        ("VMA_AREA_UPROBES", 1 << 17),
        ("VMA_UNSUPP", 1 << 31),
    ],
    # open(2) flags, octal as in the kernel's headers
    "rfile.flags": [
        ("O_WRONLY", 0o1),
        ("O_RDWR", 0o2),
        ("O_CREAT", 0o100),
        ("O_EXCL", 0o200),
        ("O_NOCTTY", 0o400),
        ("O_TRUNC", 0o1000),
        ("O_APPEND", 0o2000),
        ("O_NONBLOCK", 0o4000),
        ("O_DSYNC", 0o10000),
        ("FASYNC", 0o20000),
        ("O_DIRECT", 0o40000),
        ("O_LARGEFILE", 0o100000),
        ("O_DIRECTORY", 0o200000),
        ("O_NOFOLLOW", 0o400000),
        ("O_NOATIME", 0o1000000),
        ("O_CLOEXEC", 0o2000000),
    ],
    "pmap.flags": [("PE_PARENT", 1 << 0), ("PE_LAZY", 1 << 1), ("PE_PRESENT", 1 << 2)],
    "seals.flags": [("F_SEAL_SEAL", 0x1), ("F_SEAL_SHRINK", 0x2), ("F_SEAL_GROW", 0x4), ("F_SEAL_WRITE", 0x8),
                    ("F_SEAL_FUTURE_WRITE", 0x10)],
}

# Names of the values of the "dict" fields, by dict and field name.
VALUE_NAMES = {
    "gen": {
        "task_state": {1: "Alive", 2: "Dead", 3: "Stopped", 6: "Zombie"},
    },
    "sk": {
        "family": {1: "UNIX", 2: "INET", 10: "INET6", 16: "NETLINK", 17: "PACKET"},
        "type": {1: "STREAM", 2: "DGRAM", 3: "RAW", 5: "SEQPACKET", 10: "PACKET"},
        "state": {
            1: "ESTABLISHED",
            2: "SYN_SENT",
            3: "SYN_RECV",
            4: "FIN_WAIT1",
            5: "FIN_WAIT2",
            6: "TIME_WAIT",
            7: "CLOSE",
            8: "CLOSE_WAIT",
            9: "LAST_ACK",
            10: "LISTEN",
        },
        "proto": {0: "IP", 6: "TCP", 17: "UDP", 136: "UDPLITE"},
    },
}
