// The bridge moved to src/io, where the demo uses it too; the bench's tests still import it here.
export { LinkBridge, type Direction, type LinkBridgeOptions } from '../src/io/linkBridge.ts';
