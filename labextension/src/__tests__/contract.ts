/**
 * The domain API contract, `jupyter_spaces/openapi.yaml`, as a checker for the
 * answers (and requests) the fake server passes around.
 *
 * The fake server's bodies are written by hand in tests; without this check a
 * fixture could drift from what the real server sends and the tests would go on
 * passing against a server that does not exist. `tests/domain/test_openapi.py`
 * keeps the real server and the file in step, so file == fixtures == server.
 */
// Runs under jest in node: the contract file is read from disk.
/// <reference types="node" />
import * as fs from 'fs';
import * as path from 'path';

import Ajv2020, { ValidateFunction } from 'ajv/dist/2020';
import addFormats from 'ajv-formats';
import { JSON_SCHEMA, load } from 'js-yaml';

export const SPEC_PATH = path.resolve(
  __dirname,
  '../../../jupyter_spaces/openapi.yaml'
);

/** Where the API hangs under a server's base path. */
const API_MARK = '/spaces/api';

const METHODS = ['get', 'put', 'post', 'delete', 'patch', 'head', 'options'];

interface IOperation {
  method: string;
  template: string;
  pattern: RegExp;
  literalSegments: number;
  op: any;
}

type Spec = Record<string, any>;

class Contract {
  constructor(readonly spec: Spec) {
    // OpenAPI 3.1 schemas are JSON Schema 2020-12. Strict mode stays on so a
    // keyword Ajv does not know (a typo in the file) is an error, not a no-op.
    this.ajv = new Ajv2020({ allErrors: true, allowUnionTypes: true });
    addFormats(this.ajv);
    // The document's schemas, as `$defs` of one schema the `$ref`s point into.
    this.ajv.addSchema({
      $id: SCHEMAS_ID,
      $defs: rebase(spec.components?.schemas ?? {})
    });
    for (const [template, item] of Object.entries<any>(spec.paths)) {
      const names: string[] = [];
      const source = template
        .split('/')
        .map(segment => {
          const param = /^\{(.+)\}$/.exec(segment);
          if (param) {
            names.push(param[1]);
            return '[^/]+';
          }
          return segment.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
        })
        .join('/');
      for (const method of METHODS) {
        if (item[method]) {
          this.operations.push({
            method,
            template,
            pattern: new RegExp(`^${source}$`),
            literalSegments: template.split('/').length - names.length,
            op: item[method]
          });
        }
      }
    }
    // A literal segment wins over a parameter, as in the server's routing.
    this.operations.sort((a, b) => b.literalSegments - a.literalSegments);
  }

  /**
   * The API route of a server path, e.g. `/spaces/x` for
   * `/base/spaces/api/spaces/x`, or null when the path is not under the API.
   */
  route(pathname: string): string | null {
    const at = pathname.indexOf(API_MARK + '/');
    if (at < 0) {
      return pathname.endsWith(API_MARK) ? '/' : null;
    }
    return pathname.slice(at + API_MARK.length);
  }

  operation(method: string, route: string): IOperation | null {
    const lower = method.toLowerCase();
    return (
      this.operations.find(o => o.method === lower && o.pattern.test(route)) ??
      null
    );
  }

  /** Problems with a request the client under test sent (empty: none). */
  checkRequest(method: string, route: string, body: unknown): string[] {
    const operation = this.operation(method, route);
    if (!operation) {
      return [
        `${method} ${route} is not an operation of openapi.yaml ` +
          `(paths: ${this.templatesFor(route)})`
      ];
    }
    const schema =
      operation.op.requestBody?.content?.['application/json']?.schema;
    if (!schema || body === undefined) {
      return operation.op.requestBody?.required && body === undefined
        ? [`${this.name(operation)}: the request has no body`]
        : [];
    }
    return this.validate(
      this.validator(schema),
      body,
      `${this.name(operation)} request body`
    );
  }

  /** Problems with an answer of the fake server (empty: none). */
  checkResponse(
    method: string,
    route: string,
    status: number,
    headers: Headers,
    text: string | null
  ): string[] {
    const operation = this.operation(method, route);
    if (!operation) {
      return [`${method} ${route} is not an operation of openapi.yaml`];
    }
    const name = this.name(operation);
    const responses = operation.op.responses ?? {};
    let response = responses[String(status)] ?? responses.default;
    if (!response) {
      return [
        `${name} answered ${status}; openapi.yaml lists ` +
          Object.keys(responses).join(', ')
      ];
    }
    response = this.deref(response);
    const problems: string[] = [];
    for (const [header, spec] of Object.entries<any>(response.headers ?? {})) {
      if (this.deref(spec).required && !headers.has(header)) {
        problems.push(`${name} ${status}: no ${header} header`);
      }
    }
    const content = response.content ?? {};
    if (!Object.keys(content).length) {
      if (text) {
        problems.push(`${name} ${status} has no body in openapi.yaml`);
      }
      return problems;
    }
    const json = content['application/json'];
    if (!json) {
      // Event streams are not fetched through the fake server.
      return [
        ...problems,
        `${name} ${status} is ${Object.keys(content).join(', ')}, not JSON`
      ];
    }
    let body: unknown;
    try {
      body = JSON.parse(text ?? '');
    } catch {
      return [...problems, `${name} ${status}: the body is not JSON: ${text}`];
    }
    return [
      ...problems,
      ...this.validate(this.validator(json.schema), body, `${name} ${status}`)
    ];
  }

  private name(operation: IOperation): string {
    return `${operation.method.toUpperCase()} ${operation.template} (${
      operation.op.operationId
    })`;
  }

  private templatesFor(route: string): string {
    const found = this.operations
      .filter(o => o.pattern.test(route))
      .map(o => o.method.toUpperCase());
    return found.length ? `methods ${found.join(', ')}` : 'no path matches';
  }

  /** Follows a `$ref` to a component (responses, headers). */
  private deref(node: any): any {
    while (node && typeof node.$ref === 'string') {
      node = node.$ref
        .replace(/^#\//, '')
        .split('/')
        .reduce((at: any, key: string) => at?.[key], this.spec);
    }
    return node;
  }

  private validator(schema: any): ValidateFunction {
    const key = JSON.stringify(schema);
    let validate = this.validators.get(key);
    if (!validate) {
      // Compiled as a subschema of the document so `$ref`s resolve there.
      validate = this.ajv.compile(rebase(schema));
      this.validators.set(key, validate);
    }
    return validate;
  }

  private validate(
    validate: ValidateFunction,
    body: unknown,
    what: string
  ): string[] {
    if (validate(body)) {
      return [];
    }
    return (validate.errors ?? []).map(
      e =>
        `${what}: ${e.instancePath || '(body)'} ${e.message}` +
        (e.params && Object.keys(e.params).length
          ? ` ${JSON.stringify(e.params)}`
          : '')
    );
  }

  private readonly ajv: Ajv2020;
  private readonly operations: IOperation[] = [];
  private readonly validators = new Map<string, ValidateFunction>();
}

const SCHEMAS_ID = 'openapi.yaml';
const SCHEMAS_REF = '#/components/schemas/';

/** Points `$ref: "#/components/schemas/X"` at the `$defs` of `SCHEMAS_ID`. */
function rebase(schema: any): any {
  if (Array.isArray(schema)) {
    return schema.map(rebase);
  }
  if (schema && typeof schema === 'object') {
    const out: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(schema)) {
      out[key] =
        key === '$ref' &&
        typeof value === 'string' &&
        value.startsWith(SCHEMAS_REF)
          ? `${SCHEMAS_ID}#/$defs/${value.slice(SCHEMAS_REF.length)}`
          : rebase(value);
    }
    return out;
  }
  return schema;
}

let loaded: Contract | null = null;

/** The contract of `jupyter_spaces/openapi.yaml`, loaded once per test file. */
export function contract(): Contract {
  if (!loaded) {
    const text = fs.readFileSync(SPEC_PATH, 'utf-8');
    // The JSON schema of YAML: no dates or other types JSON does not have.
    loaded = new Contract(load(text, { schema: JSON_SCHEMA }) as Spec);
  }
  return loaded;
}
