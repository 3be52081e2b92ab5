"""What every script that writes with delta-rs shares."""

from deltalake import WriterProperties

# delta-rs 1.6 defaults to ZSTD, which Node.js reads only from 22.15 on.
SNAPPY = WriterProperties(compression="SNAPPY")
