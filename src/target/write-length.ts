/**
 * The data-out length a write-type CDB itself asks for (the "SCSI transfer length" of SAM), so the
 * core can compare it with the iSCSI Expected Data Transfer Length and report residuals
 * (RFC 7143 11.4.5.1). -1 when the command is not one whose length we know from the CDB.
 */
const WRITE6 = 0x0a;
const WRITE10 = 0x2a;
const WRITE12 = 0xaa;
const WRITE16 = 0x8a;
const WRITE_VERIFY10 = 0x2e;
const WRITE_VERIFY12 = 0xae;
const WRITE_VERIFY16 = 0x8e;
const ORWRITE16 = 0x8b;

export function cdbWriteLength(cdb: Buffer, blockSize: number): number {
  if (cdb.length < 6) return -1;
  switch (cdb[0]) {
    case WRITE6: {
      const n = cdb[4]!;
      return (n === 0 ? 256 : n) * blockSize;
    }
    case WRITE10:
    case WRITE_VERIFY10:
      return cdb.length >= 10 ? cdb.readUInt16BE(7) * blockSize : -1;
    case WRITE12:
    case WRITE_VERIFY12:
      return cdb.length >= 12 ? cdb.readUInt32BE(6) * blockSize : -1;
    case WRITE16:
    case WRITE_VERIFY16:
    case ORWRITE16:
      return cdb.length >= 16 ? cdb.readUInt32BE(10) * blockSize : -1;
    default:
      return -1;
  }
}

/**
 * A copy of a write CDB (one cdbWriteLength knows) with its TRANSFER LENGTH set to `blocks`, so that
 * a command whose EDTL is shorter than the CDB asks writes only what was transferred (FCP-4 9.4.2 a).
 */
export function withTransferLength(cdb: Buffer, blocks: number): Buffer {
  const out = Buffer.from(cdb);
  switch (out[0]) {
    case WRITE6:
      out[4] = blocks;
      break;
    case WRITE10:
    case WRITE_VERIFY10:
      out.writeUInt16BE(blocks, 7);
      break;
    case WRITE12:
    case WRITE_VERIFY12:
      out.writeUInt32BE(blocks, 6);
      break;
    default:
      out.writeUInt32BE(blocks, 10);
  }
  return out;
}
