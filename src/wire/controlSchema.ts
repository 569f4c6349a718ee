// Generated from proto/bering.proto by `npm run proto` (scripts/embedProto.ts); do not edit.

/** The protobufjs JSON descriptor of proto/bering.proto, for `protobuf.Root.fromJSON`. */
export const CONTROL_SCHEMA = {
  "nested": {
    "bering": {
      "nested": {
        "Control": {
          "oneofs": {
            "msg": {
              "oneof": [
                "streamOpen"
              ]
            }
          },
          "fields": {
            "streamOpen": {
              "type": "StreamOpen",
              "id": 1,
              "protoName": "stream_open"
            }
          },
          "reserved": [
            [
              2,
              2
            ],
            "stats"
          ]
        },
        "StreamOpen": {
          "fields": {
            "streamId": {
              "type": "uint64",
              "id": 1,
              "protoName": "stream_id"
            },
            "service": {
              "type": "string",
              "id": 2
            }
          }
        }
      }
    }
  }
};
