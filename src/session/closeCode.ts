/** Close codes carried in CLOSE: why a session ended. */
export const CloseCode = { Normal: 0, ProtocolViolation: 1, FlowControl: 2 } as const;
