"""A minimal spool reader written from engine/SPOOL-FORMAT.md alone, as a third party would:
queue id and message bytes of every whole record. CRCs are left to `mxring spool verify`."""
import os
import struct

HEADER_SIZE = 80
BATCH_ALIGNMENT = 4096  # padding: §1


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
            while True:
                if offset < len(data) and data[offset] == 0:  # padding up to the next batch
                    if offset % BATCH_ALIGNMENT == 0:
                        break  # the rest of the segment is padding
                    offset += BATCH_ALIGNMENT - offset % BATCH_ALIGNMENT
                    continue
                if offset + HEADER_SIZE > len(data) or data[offset:offset + 4] != b"MXR1":
                    break
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
