"""A minimal spool reader written from engine/SPOOL-FORMAT.md alone, as a third party would:
queue id and message bytes of every whole record. CRCs are left to `mxring spool verify`."""
import os
import struct

HEADER_SIZE = 80


def read_spool(directory):
    messages = {}
    for writer in sorted(os.listdir(directory)):
        if not writer.isdigit():
            continue
        for name in sorted(os.listdir(os.path.join(directory, writer))):
            if not name.endswith(".seg"):
                continue
            with open(os.path.join(directory, writer, name), "rb") as f:
                data = f.read()
            offset = 0
            while offset + HEADER_SIZE <= len(data) and data[offset:offset + 4] == b"MXR1":
                envelope_length, message_length = struct.unpack_from("<IQ", data, offset + 12)
                id_length = data[offset + 28]
                queue_id = data[offset + 29:offset + 29 + id_length].decode()
                start = offset + HEADER_SIZE + envelope_length
                end = start + message_length
                if end > len(data):
                    break  # a torn tail
                messages[queue_id] = data[start:end]
                offset = end
    return messages
