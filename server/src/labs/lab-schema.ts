/**
 * JSON Schema of lab.yaml. docs/authoring.md describes the same fields for people; change both.
 */

const name = { type: 'string', pattern: '^[a-z][a-z0-9-]{0,30}$' } as const;
const nonEmpty = { type: 'string', minLength: 1 } as const;

const checkSchemas = {
  command: {
    type: 'object',
    additionalProperties: false,
    required: ['host', 'run', 'failMessage'],
    properties: { host: name, run: nonEmpty, failMessage: nonEmpty, passMessage: nonEmpty },
  },
  'ipvs-service': {
    type: 'object',
    additionalProperties: false,
    required: ['host', 'service'],
    properties: {
      host: name,
      service: nonEmpty,
      scheduler: { enum: ['rr', 'wrr', 'lc', 'wlc', 'lblc', 'lblcr', 'dh', 'sh', 'sed', 'nq', 'mh', 'fo', 'ovf', 'twos'] },
      persistent: { type: 'integer', minimum: 0, maximum: 2678400 },
    },
  },
  'ipvs-real-servers': {
    type: 'object',
    additionalProperties: false,
    required: ['host', 'service', 'servers', 'forward'],
    properties: {
      host: name,
      service: nonEmpty,
      servers: { type: 'array', minItems: 1, items: nonEmpty },
      forward: { enum: ['Masq', 'Route', 'Tunnel'] },
      weights: { type: 'array', minItems: 1, items: { type: 'integer', minimum: 0, maximum: 65535 } },
    },
  },
  'round-robin-traffic': {
    type: 'object',
    additionalProperties: false,
    required: ['from', 'url', 'backends'],
    properties: {
      from: name,
      url: { type: 'string', pattern: '^https?://' },
      requests: { type: 'integer', minimum: 4, maximum: 100 },
      backends: { type: 'object', minProperties: 2, additionalProperties: nonEmpty, propertyNames: name },
    },
  },
  traffic: {
    type: 'object',
    additionalProperties: false,
    required: ['host', 'service', 'scheduler', 'url', 'backends'],
    properties: {
      host: name,
      from: name,
      service: nonEmpty,
      scheduler: { enum: ['rr', 'wrr', 'lc', 'wlc', 'sed', 'nq', 'fo', 'ovf', 'sh', 'dh', 'mh'] },
      url: { type: 'string', pattern: '^https?://' },
      requests: { type: 'integer', minimum: 4, maximum: 50 },
      backends: { type: 'object', minProperties: 2, additionalProperties: nonEmpty, propertyNames: name },
      sources: { type: 'array', minItems: 1, maxItems: 4, items: nonEmpty },
    },
  },
  'ipvs-replies': {
    type: 'object',
    additionalProperties: false,
    required: ['host', 'service', 'replies'],
    properties: { host: name, service: nonEmpty, replies: { enum: ['director', 'direct'] }, from: name },
  },
  'results-file': {
    type: 'object',
    additionalProperties: false,
    required: ['host', 'path', 'require', 'failMessage'],
    properties: {
      host: name,
      path: { type: 'string', pattern: '^/' },
      require: { type: 'array', minItems: 1, items: { type: 'string', pattern: '^[a-z_]+=\\S+( [a-z_]+=\\S+)*$' } },
      failMessage: nonEmpty,
      chart: {
        type: 'object',
        additionalProperties: false,
        required: ['title', 'x', 'series', 'y', 'xLabel', 'yLabel'],
        properties: { title: nonEmpty, x: nonEmpty, series: nonEmpty, y: nonEmpty, xLabel: nonEmpty, yLabel: nonEmpty },
      },
    },
  },
  file: {
    type: 'object',
    additionalProperties: false,
    required: ['host', 'path', 'failMessage'],
    properties: { host: name, path: { type: 'string', pattern: '^/' }, executable: { type: 'boolean' }, failMessage: nonEmpty, passMessage: nonEmpty },
  },
} as const;

export const CHECK_KINDS = Object.keys(checkSchemas) as (keyof typeof checkSchemas)[];

export const labSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['title', 'summary', 'hosts', 'steps'],
  properties: {
    title: nonEmpty,
    summary: nonEmpty,
    order: { type: 'integer', minimum: 0, maximum: 1000 },
    minutes: { type: 'integer', minimum: 1, maximum: 600 },
    hosts: {
      type: 'object',
      minProperties: 1,
      propertyNames: name,
      additionalProperties: {
        type: 'object',
        additionalProperties: false,
        required: ['image'],
        properties: {
          image: {
            oneOf: [
              { type: 'string', minLength: 1 },
              { type: 'object', additionalProperties: false, required: ['build'], properties: { build: { type: 'string', pattern: '^[a-z0-9][a-z0-9._-]*$' } } },
            ],
          },
          capabilities: { type: 'array', items: { type: 'string', pattern: '^[A-Z][A-Z_]+$' } },
          shell: { type: 'boolean' },
          files: { type: 'object', propertyNames: { pattern: '^/' }, additionalProperties: { type: 'string' } },
          command: { type: 'array', minItems: 1, items: { type: 'string' } },
          limits: {
            type: 'object',
            additionalProperties: false,
            properties: {
              memory: { type: 'integer', minimum: 16, maximum: 16384 },
              pids: { type: 'integer', minimum: 16, maximum: 32768 },
              cpus: { type: 'number', exclusiveMinimum: 0, maximum: 64 },
              cpuShares: { type: 'integer', minimum: 2, maximum: 262144 },
            },
          },
          sysctls: { type: 'object', propertyNames: { pattern: '^net\\.[a-z0-9_.-]+$' }, additionalProperties: { type: 'string' } },
        },
      },
    },
    network: { type: 'object', additionalProperties: false, properties: { outside: { type: 'boolean' } } },
    variables: { type: 'object', propertyNames: name, additionalProperties: { type: 'string' } },
    steps: {
      type: 'array',
      minItems: 1,
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['id', 'title', 'file'],
        properties: {
          id: name,
          title: nonEmpty,
          file: { type: 'string', pattern: '^[^/].*\\.md$' },
          checks: {
            type: 'array',
            items: {
              type: 'object',
              minProperties: 1,
              maxProperties: 1,
              additionalProperties: false,
              properties: checkSchemas,
            },
          },
          solution: {
            type: 'array',
            items: {
              oneOf: [
                nonEmpty,
                {
                  type: 'object',
                  additionalProperties: false,
                  required: ['run'],
                  // timeout: seconds `ipvs-lab test` waits for this line (a long measurement), instead of the default.
                  properties: { host: name, run: nonEmpty, timeout: { type: 'integer', minimum: 1, maximum: 3600 } },
                },
              ],
            },
          },
          readOnly: { type: 'boolean' },
          mayAlreadyPass: { type: 'boolean' },
          challenge: {
            type: 'object',
            additionalProperties: false,
            required: ['hints'],
            properties: { hints: { type: 'array', minItems: 1, maxItems: 10, items: nonEmpty } },
          },
        },
      },
    },
  },
} as const;
