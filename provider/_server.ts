/**
 * @pulumi/pulumi's Node provider server (provider/server.js in 3.248.0) drops everything in a DiffResult but
 * `changes`, `replaces` and `deleteBeforeReplace`. Without a detailed diff the engine cannot say which file of a
 * FileSet changed, nor show the line diff of its content. This wraps the `diff` RPC handler when the service
 * is registered, and answers with the handler's `detailedDiff` (the proto already carries it). The patched
 * `Server` is @pulumi/pulumi's own grpc-js (see _grpc.ts): patching another copy would silently do nothing.
 *
 * The same server hands diff and read only the resource's outputs, not the inputs the engine sends beside them
 * (DiffRequest.old_inputs, ReadRequest.inputs). A resource that renders from its inputs (NodeGroupFiles) needs
 * them, and keeping a copy of large inputs in the outputs would double them in state and on every call: the
 * wrappers pass them on as a last argument.
 */
import * as provproto from "@pulumi/pulumi/proto/provider_pb";
import { fromPulumi, pulumiGrpc } from "./_grpc";
import { DiffResultWithDetail } from "./resources/handler";
import { isSecret, secret } from "./values";

/** The one member of google-protobuf's Struct class used here (to build a response's property bag). */
interface StructClass {
  fromJavaScript(o: Record<string, unknown>): NonNullable<ReturnType<provproto.ReadResponse["getProperties"]>>;
}
// google-protobuf is @pulumi/pulumi's dependency, not ours: the Struct class its own messages are built from
const structproto = fromPulumi<{ Struct: StructClass }>("google-protobuf/google/protobuf/struct_pb");

/** A property bag as the engine sends it (a protobuf Struct), read as a plain object. */
type Bag = Record<string, unknown>;
const bag = (s: { toJavaScript(): object } | undefined): Bag | undefined => s?.toJavaScript() as Bag | undefined;

/** A unary gRPC call and its answer, as grpc-js hands them to a service implementation. */
type Callback = (err: unknown, resp?: unknown) => void;
type Handler<Req> = (call: { request: Req }, callback: Callback) => unknown;

/** The handlers of the provider service this module wraps (the SDK's own implementation object). */
interface ProviderService {
  diff?: Handler<provproto.DiffRequest>;
  read?: Handler<provproto.ReadRequest>;
  configure?: Handler<provproto.ConfigureRequest>;
  construct?: Handler<provproto.ConstructRequest>;
}

const KIND: Record<string, number> = {
  add: 0,
  "add-replace": 1,
  delete: 2,
  "delete-replace": 3,
  update: 4,
  "update-replace": 5,
};

export function installDetailedDiff(
  diff: (id: string, urn: string, olds: Bag, news: Bag, oldInputs?: Bag) => Promise<DiffResultWithDetail>,
  read?: (id: string, urn: string, props: Bag, inputs?: Bag) => Promise<{ id?: string; props?: Bag; inputs?: Bag }>,
  constructs?: PendingConstructs,
  configure?: (config: Record<string, unknown>) => Promise<void>,
): void {
  const Server = pulumiGrpc().Server.prototype;
  const original = Server.addService;
  Server.addService = function (this: unknown, service: unknown, impl: ProviderService | undefined) {
    if (impl && typeof impl.diff === "function") {
      impl.diff = async (call, callback) => {
        try {
          const req = call.request;
          const result = await diff(req.getId(), req.getUrn(), bag(req.getOlds()) ?? {}, bag(req.getNews()) ?? {}, bag(req.getOldInputs()));
          const resp = new provproto.DiffResponse();
          const C = provproto.DiffResponse.DiffChanges;
          resp.setChanges(result.changes === true ? C.DIFF_SOME : result.changes === false ? C.DIFF_NONE : C.DIFF_UNKNOWN);
          if (result.replaces?.length) resp.setReplacesList([...result.replaces]);
          if (result.deleteBeforeReplace) resp.setDeletebeforereplace(true);
          if (result.detailedDiff) {
            resp.setHasdetaileddiff(true);
            const m = resp.getDetaileddiffMap();
            const diffs: string[] = [];
            for (const [k, v] of Object.entries(result.detailedDiff)) {
              const pd = new provproto.PropertyDiff();
              pd.setKind(KIND[v.kind] as provproto.PropertyDiff.Kind);
              pd.setInputdiff(v.inputDiff ?? false);
              m.set(k, pd);
              diffs.push(k.split(/[.[]/)[0]);
            }
            resp.setDiffsList([...new Set(diffs)]);
          }
          callback(undefined, resp);
        } catch (e) {
          callback(e, undefined);
        }
      };
    }
    if (constructs && impl && typeof impl.construct === "function") constructs.track(impl as ProviderService & { construct: Handler<provproto.ConstructRequest> });
    if (configure && impl && typeof impl.configure === "function") {
      // The SDK server answers Configure without telling the provider anything: the provider config
      // (`netboot:hosts`, `netboot:ssh`) is read here. `args` carries the values typed, with secrets still
      // marked (the engine sends them so when the response accepts secrets, as the SDK's does); older engines
      // send only `variables` (`netboot:config:hosts` = JSON text).
      const original = impl.configure;
      impl.configure = async (call, callback) => {
        try {
          const req = call.request;
          let config: Record<string, unknown> = {};
          const args = req.hasArgs?.() ? bag(req.getArgs()) : undefined;
          if (args && Object.keys(args).length) config = args;
          else
            for (const [k, v] of req.getVariablesMap().entries() as unknown as Iterable<[string, string]>) {
              const name = k.replace(/^netboot:(config:)?/, "");
              try {
                config[name] = JSON.parse(v);
              } catch {
                config[name] = v;
              }
            }
          // A value set as text (`pulumi config set netboot:hosts '{"head": ...}'`) is JSON.
          for (const [k, v] of Object.entries(config)) {
            const text = isSecret(v) ? (v as { value: unknown }).value : v;
            if (typeof text === "string" && /^\s*[{[]/.test(text))
              try {
                config[k] = isSecret(v) ? secret(JSON.parse(text)) : JSON.parse(text);
              } catch {
                /* left as text: check names it */
              }
          }
          await configure(config);
        } catch (e) {
          callback(e, undefined);
          return;
        }
        original.call(impl, call, callback);
      };
    }
    if (impl && read && typeof impl.read === "function") {
      impl.read = async (call, callback) => {
        try {
          const req = call.request;
          const result = await read(req.getId(), req.getUrn(), bag(req.getProperties()) ?? {}, bag(req.getInputs()));
          const resp = new provproto.ReadResponse();
          resp.setId(result.id ?? "");
          resp.setProperties(structproto.Struct.fromJavaScript(result.props ?? {}));
          if (result.inputs !== undefined) resp.setInputs(structproto.Struct.fromJavaScript(result.inputs));
          callback(undefined, resp);
        } catch (e) {
          callback(e, undefined);
        }
      };
    }
    return original.call(this, service, impl);
  };
}

/**
 * The constructs the engine is waiting for, with the answer to give each (`netboot:index:PxeServer "pxe"`).
 * One per provider process, held by the ProviderContext. `track` wraps the `construct` RPC handler so
 * constructs still in flight when the run fails can be answered with a clear error (`answerAll`) instead of
 * being cut off when the engine shuts the provider down, which the CLI shows as `grpc: the client connection
 * is closing`. The first answer wins; the SDK server's own later answer to the same call is dropped.
 */
export class PendingConstructs {
  private readonly pending = new Map<symbol, { label: string; answer: (err: unknown) => void }>();

  track(impl: ProviderService & { construct: Handler<provproto.ConstructRequest> }): void {
    const original = impl.construct.bind(impl);
    impl.construct = (call, callback) => {
      const id = Symbol("construct");
      let answered = false;
      const once = (err: unknown, resp: unknown) => {
        if (answered) return;
        answered = true;
        this.pending.delete(id);
        callback(err, resp);
      };
      this.pending.set(id, { label: `${call.request.getType()} "${call.request.getName()}"`, answer: (err) => once(err, undefined) });
      return original(call, once);
    };
  }

  /** Fails every construct still in flight with `message(label)`. */
  answerAll(message: (label: string) => string): void {
    for (const { label, answer } of [...this.pending.values()]) answer(new Error(message(label)));
  }
}
