/**
 * `npm run proto`: writes src/wire/controlSchema.ts, the protobufjs descriptor of
 * proto/bering.proto, so that wire/ parses its schema from a module instead of reading a file
 * when it loads (the core does no I/O). test/wire/controlSchema.test.ts checks the two agree.
 */
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import protobuf from 'protobufjs';

export const PROTO_FILE = fileURLToPath(new URL('../proto/bering.proto', import.meta.url));
export const SCHEMA_MODULE = fileURLToPath(new URL('../src/wire/controlSchema.ts', import.meta.url));

/** The text of src/wire/controlSchema.ts for the .proto at `protoFile`. */
export function schemaModule(protoFile: string): string {
  const descriptor = JSON.stringify(protobuf.loadSync(protoFile).toJSON(), null, 2);
  return `// Generated from proto/bering.proto by \`npm run proto\` (scripts/embedProto.ts); do not edit.

/** The protobufjs JSON descriptor of proto/bering.proto, for \`protobuf.Root.fromJSON\`. */
export const CONTROL_SCHEMA = ${descriptor};
`;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) writeFileSync(SCHEMA_MODULE, schemaModule(PROTO_FILE));
