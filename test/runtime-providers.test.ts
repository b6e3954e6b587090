import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readlinkSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import onnxProto from 'onnx-proto';
import {
  checkCudaAvailable,
  createSession,
  CUDA_LIB_DIR_ENV,
  CUDA_PROVIDER_LIBS,
  detectOrtVersion,
  diagnoseLoad,
  ensureCudaProviders,
  ortNativeDir,
  parseDevice,
  prepareDevice,
  ProviderError,
  sessionOptionsFor,
  wrapSessionError,
} from '../src/onnx/providers.js';

const [SHARED, CUDA] = CUDA_PROVIDER_LIBS;
const providersModule = resolve(dirname(fileURLToPath(import.meta.url)), '../src/onnx/providers.ts');

/** A one-node Identity model, enough to prove the options are accepted by ORT. */
function identityModel(): Uint8Array {
  const { onnx } = onnxProto;
  const vi = (name: string) => ({ name, type: { tensorType: { elemType: 1, shape: { dim: [{ dimValue: 2 }] } } } });
  const model = onnx.ModelProto.create({
    irVersion: 9,
    opsetImport: [{ domain: '', version: 18 }],
    graph: { name: 'g', node: [{ opType: 'Identity', input: ['x'], output: ['y'] }], input: [vi('x')], output: [vi('y')] },
  });
  return onnx.ModelProto.encode(model).finish();
}

async function rejection(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (err) {
    return err;
  }
  throw new Error('expected a rejection');
}

function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (err) {
    return err;
  }
  throw new Error('expected an exception');
}

/** A directory laid out like `pip install onnxruntime-gpu`: onnxruntime/__init__.py + capi/*.so. */
function fakePythonInstall(root: string, version: string, libs: readonly string[] = CUDA_PROVIDER_LIBS): string {
  const capi = join(root, 'site-packages', 'onnxruntime', 'capi');
  mkdirSync(capi, { recursive: true });
  writeFileSync(join(capi, '..', '__init__.py'), `"""ONNX Runtime"""\n__version__ = "${version}"\n`);
  for (const lib of libs) writeFileSync(join(capi, lib), '');
  return capi;
}

describe('runtime/providers', () => {
  describe('parseDevice', () => {
    it('accepts cpu, cuda and cuda:N', () => {
      expect(parseDevice('cpu')).to.deep.equal({ kind: 'cpu' });
      expect(parseDevice('cuda')).to.deep.equal({ kind: 'cuda', deviceId: 0 });
      expect(parseDevice('cuda:0')).to.deep.equal({ kind: 'cuda', deviceId: 0 });
      expect(parseDevice(' CUDA:3 ')).to.deep.equal({ kind: 'cuda', deviceId: 3 });
    });

    it('rejects anything else with a ProviderError naming the valid forms', () => {
      for (const bad of ['', 'gpu', 'cuda:', 'cuda:-1', 'cuda:x', 'cuda:1.5', 'cuda:0:1', 'webgpu', 'cpu:0']) {
        const err = thrown(() => parseDevice(bad));
        expect(err, bad).to.be.instanceOf(ProviderError);
        expect((err as ProviderError).code).to.equal('invalid-device');
        expect((err as Error).message).to.include('expected cpu, cuda or cuda:N');
      }
    });
  });

  describe('sessionOptionsFor', () => {
    it('CPU: one intra-op thread by default, sequential, all optimizations, no memory pattern', () => {
      expect(sessionOptionsFor({ kind: 'cpu' })).to.deep.equal({
        executionProviders: ['cpu'],
        intraOpNumThreads: 1,
        interOpNumThreads: 1,
        graphOptimizationLevel: 'all',
        executionMode: 'sequential',
        enableMemPattern: false,
      });
      expect(sessionOptionsFor({ kind: 'cpu' }, 2).intraOpNumThreads).to.equal(2);
      expect(() => sessionOptionsFor({ kind: 'cpu' }, 0)).to.throw(RangeError);
    });

    it('CUDA: only the CUDA provider, with the device id (no CPU fallback listed)', () => {
      expect(sessionOptionsFor({ kind: 'cuda', deviceId: 2 }).executionProviders).to.deep.equal([{ name: 'cuda', deviceId: 2 }]);
    });

    it('the CPU options create a working session', async () => {
      const session = await createSession(identityModel(), 'cpu');
      const ort = await import('onnxruntime-node');
      const out = await session.run({ x: new ort.Tensor('float32', new Float32Array([1.5, -2]), [2]) });
      expect(Array.from(out.y.data as Float32Array)).to.deep.equal([1.5, -2]);
      await session.release();
    });
  });

  describe('CUDA on a machine without the provider libraries', () => {
    before(() => {
      // `npm ci` installs onnxruntime-node without its CUDA libraries (package.json's
      // allowScripts skips the download), so they are absent here; say so plainly if someone linked them in by hand.
      expect(checkCudaAvailable({ env: {} }).ok, 'CUDA provider libraries are linked beside onnxruntime-node; remove them to run these tests').to.equal(false);
    });

    it("'cuda' throws a ProviderError listing the missing files, where it looked and how to fix it", () => {
      const err = thrown(() => prepareDevice('cuda', { env: {} }));
      expect(err).to.be.instanceOf(ProviderError);
      const e = err as ProviderError;
      expect(e.code).to.equal('cuda-missing');
      expect(e.details.missing).to.include(CUDA);
      expect(e.message).to.include(CUDA).and.include(ortNativeDir());
      expect(e.message).to.include(CUDA_LIB_DIR_ENV).and.include('--cuda-lib-dir');
      expect(e.message).to.include('pip install onnxruntime-gpu==1.30.0');
      expect(e.message).to.include('LD_LIBRARY_PATH').and.include('cuDNN 9');
    });

    it('createSession on cuda rejects; it never returns a CPU session', async () => {
      const err = await rejection(createSession(identityModel(), 'cuda:0', { env: {} }));
      expect(err).to.be.instanceOf(ProviderError);
    });

    it('a named directory that does not exist is reported as such', () => {
      const err = thrown(() => ensureCudaProviders({ cudaLibDir: '/nonexistent/capi', env: {} }));
      expect((err as Error).message).to.match(/\/nonexistent\/capi {2}\(--cuda-lib-dir, does not exist\)/);
      expect((err as ProviderError).details.searched).to.deep.equal([ortNativeDir(), '/nonexistent/capi']);
    });

    it("ORT's own 'Failed to load shared library' becomes a ProviderError with the cause", function () {
      // In a child process, because ORT logs the failure to stderr from native code.
      const code = [
        `import * as ort from 'onnxruntime-node';`,
        `import { sessionOptionsFor, wrapSessionError } from ${JSON.stringify(pathToFileURL(providersModule).href)};`,
        `const device = { kind: 'cuda', deviceId: 0 };`,
        `try { await ort.InferenceSession.create(new Uint8Array([8, 9]), sessionOptionsFor(device)); console.log(JSON.stringify({ created: true })); }`,
        `catch (e) { const w = wrapSessionError(e, device); console.log(JSON.stringify({ raw: e.message, name: w.name, code: w.code, message: w.message })); }`,
      ].join('\n');
      const child = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], { encoding: 'utf8', timeout: 60_000 });
      const last = child.stdout.trim().split('\n').pop() ?? '';
      const res = JSON.parse(last);
      expect(res.created).to.equal(undefined);
      expect(res.raw).to.include('Failed to load shared library');
      expect(res).to.include({ name: 'ProviderError', code: 'cuda-load' });
      expect(res.message).to.include(`${SHARED} does not exist`).and.include(CUDA_LIB_DIR_ENV);
    });
  });

  describe('finding and linking libraries from a named directory', () => {
    let tmp: string;
    let ortDir: string;
    const realOrtDirBefore = readdirSync(ortNativeDir()).sort();
    beforeEach(() => {
      tmp = mkdtempSync(join(tmpdir(), 'reclm-providers-'));
      ortDir = join(tmp, 'ort'); // stands in for onnxruntime-node's folder
      mkdirSync(ortDir);
    });
    afterEach(() => rmSync(tmp, { recursive: true, force: true }));
    after(() => expect(readdirSync(ortNativeDir()).sort(), 'node_modules untouched').to.deep.equal(realOrtDirBefore));

    it('finds both libraries via RECLM_CUDA_LIB_DIR and reads the Python package version', () => {
      const capi = fakePythonInstall(tmp, '1.30.0');
      const check = checkCudaAvailable({ ortLibDir: ortDir, env: { [CUDA_LIB_DIR_ENV]: capi } });
      expect(check.ok).to.equal(true);
      expect(check.missing).to.deep.equal([]);
      expect(check.searched).to.deep.equal([ortDir, capi]);
      expect(check.found).to.deep.equal({ [SHARED]: join(capi, SHARED), [CUDA]: join(capi, CUDA) });
      expect(check.notes.join('\n')).to.include('onnxruntime 1.30.0');
      expect(readdirSync(ortDir), 'checking links nothing').to.deep.equal([]);
    });

    it('links them next to the ORT library, idempotently, and says what it did', () => {
      const capi = fakePythonInstall(tmp, '1.30.0');
      const first = ensureCudaProviders({ ortLibDir: ortDir, cudaLibDir: capi, env: {} });
      expect(first.linked).to.deep.equal([`linked ${join(ortDir, SHARED)} -> ${join(capi, SHARED)}`, `linked ${join(ortDir, CUDA)} -> ${join(capi, CUDA)}`]);
      for (const lib of CUDA_PROVIDER_LIBS) {
        expect(lstatSync(join(ortDir, lib)).isSymbolicLink()).to.equal(true);
        expect(readlinkSync(join(ortDir, lib))).to.equal(join(capi, lib));
      }
      const second = ensureCudaProviders({ ortLibDir: ortDir, cudaLibDir: capi, env: {} });
      expect(second.linked.every((l) => l.startsWith('already linked'))).to.equal(true);
      expect(readdirSync(ortDir).sort()).to.deep.equal([...CUDA_PROVIDER_LIBS].sort());
      // Now the libraries are found in ORT's own folder even without the named directory.
      expect(checkCudaAvailable({ ortLibDir: ortDir, env: {} }).ok).to.equal(true);
    });

    it('prepareDevice returns CUDA options plus the link notes', () => {
      const capi = fakePythonInstall(tmp, '1.30.2');
      const prepared = prepareDevice('cuda:1', { ortLibDir: ortDir, cudaLibDir: capi, env: {} });
      expect(prepared.sessionOptions.executionProviders).to.deep.equal([{ name: 'cuda', deviceId: 1 }]);
      expect(prepared.notes.filter((n) => n.startsWith('linked'))).to.have.length(2);
    });

    it('relinks when the named directory changes, but never replaces a real file', () => {
      const old = fakePythonInstall(join(tmp, 'old'), '1.30.0');
      const now = fakePythonInstall(join(tmp, 'new'), '1.30.1');
      ensureCudaProviders({ ortLibDir: ortDir, cudaLibDir: old, env: {} });
      const res = ensureCudaProviders({ ortLibDir: ortDir, cudaLibDir: now, env: {} });
      expect(res.linked[0]).to.match(/^relinked .* \(was -> .*old/);
      expect(readlinkSync(join(ortDir, CUDA))).to.equal(join(now, CUDA));

      rmSync(join(ortDir, SHARED));
      writeFileSync(join(ortDir, SHARED), 'real');
      const again = ensureCudaProviders({ ortLibDir: ortDir, cudaLibDir: old, env: {} });
      expect(lstatSync(join(ortDir, SHARED)).isSymbolicLink()).to.equal(false);
      expect(again.linked).to.have.length(1);
    });

    it('replaces a dangling link left by a removed install', () => {
      symlinkSync(join(tmp, 'gone', CUDA), join(ortDir, CUDA));
      const capi = fakePythonInstall(tmp, '1.30.0');
      ensureCudaProviders({ ortLibDir: ortDir, cudaLibDir: capi, env: {} });
      expect(existsSync(join(ortDir, CUDA))).to.equal(true);
    });

    it('lists exactly the file that is missing', () => {
      const capi = fakePythonInstall(tmp, '1.30.0', [SHARED]);
      const check = checkCudaAvailable({ ortLibDir: ortDir, cudaLibDir: capi, env: {} });
      expect(check.ok).to.equal(false);
      expect(check.missing).to.deep.equal([CUDA]);
      const err = thrown(() => ensureCudaProviders({ ortLibDir: ortDir, cudaLibDir: capi, env: {} })) as ProviderError;
      expect(err.message).to.match(new RegExp(`missing ${CUDA.replace(/\./g, '\\.')}\\.`));
      expect(err.message).not.to.include(`missing ${SHARED}`);
      expect(err.message).to.include(`${capi}  (--cuda-lib-dir)`);
      expect(readdirSync(ortDir), 'nothing linked on failure').to.deep.equal([]);
    });

    it('refuses libraries of another ORT version', () => {
      const capi = fakePythonInstall(tmp, '1.22.0');
      const check = checkCudaAvailable({ ortLibDir: ortDir, cudaLibDir: capi, env: {} });
      expect(check.ok).to.equal(false);
      expect(check.problems[0]).to.include('1.22.0').and.include('1.30.0');
      const err = thrown(() => ensureCudaProviders({ ortLibDir: ortDir, cudaLibDir: capi, env: {} })) as ProviderError;
      expect(err.code).to.equal('cuda-version');
      expect(readdirSync(ortDir)).to.deep.equal([]);
    });

    it('goes ahead with a note when the version cannot be told', () => {
      const plain = join(tmp, 'plain');
      mkdirSync(plain);
      for (const lib of CUDA_PROVIDER_LIBS) writeFileSync(join(plain, lib), '');
      const setup = ensureCudaProviders({ ortLibDir: ortDir, cudaLibDir: plain, env: {} });
      expect(setup.notes.join('\n')).to.include('could not tell which onnxruntime version');
    });

    it('the option wins over the environment variable', () => {
      const fromEnv = fakePythonInstall(join(tmp, 'env'), '1.30.0');
      const fromOpt = fakePythonInstall(join(tmp, 'opt'), '1.30.0');
      const check = checkCudaAvailable({ ortLibDir: ortDir, cudaLibDir: fromOpt, env: { [CUDA_LIB_DIR_ENV]: fromEnv } });
      expect(check.found[CUDA]).to.equal(join(fromOpt, CUDA));
    });

    it('detects versions of release-tarball, NuGet and pip-metadata layouts', () => {
      const lib = join(tmp, 'onnxruntime-linux-x64-gpu-1.30.0', 'lib');
      mkdirSync(lib, { recursive: true });
      writeFileSync(join(lib, 'libonnxruntime.so.1.30.0'), '');
      expect(detectOrtVersion(lib)?.version).to.equal('1.30.0');

      const tarRoot = join(tmp, 'tar2');
      mkdirSync(join(tarRoot, 'lib'), { recursive: true });
      writeFileSync(join(tarRoot, 'VERSION_NUMBER'), '1.30.0\n');
      expect(detectOrtVersion(join(tarRoot, 'lib'))?.version).to.equal('1.30.0');

      const native = join(tmp, 'nuget', 'runtimes', 'linux-x64', 'native');
      mkdirSync(native, { recursive: true });
      writeFileSync(join(tmp, 'nuget', 'Microsoft.ML.OnnxRuntime.Gpu.Linux.nuspec'), '<package><metadata><version>1.30.0</version></metadata></package>');
      expect(detectOrtVersion(native)?.version).to.equal('1.30.0');

      const site = join(tmp, 'venv', 'site-packages');
      mkdirSync(join(site, 'onnxruntime', 'capi'), { recursive: true });
      mkdirSync(join(site, 'onnxruntime_gpu-1.29.1.dist-info'));
      expect(detectOrtVersion(join(site, 'onnxruntime', 'capi'))?.version).to.equal('1.29.1');

      expect(detectOrtVersion(join(tmp, 'nothing'))).to.equal(undefined);
    });

    it('diagnoseLoad names the library that fails to load and why', () => {
      expect(diagnoseLoad(ortDir)).to.equal(`${join(ortDir, SHARED)} does not exist`);
      for (const l of CUDA_PROVIDER_LIBS) writeFileSync(join(ortDir, l), '');
      expect(diagnoseLoad(ortDir)).to.match(/libonnxruntime_providers_shared\.so: file too short/);
    });
  });

  describe('wrapSessionError', () => {
    it('leaves errors unrelated to CUDA alone', () => {
      const e = new Error('Failed to load model because protobuf parsing failed.');
      expect(wrapSessionError(e, { kind: 'cuda', deviceId: 0 })).to.equal(e);
      const loadErr = new Error('Failed to load shared library');
      expect(wrapSessionError(loadErr, { kind: 'cpu' })).to.equal(loadErr);
    });

    it('turns CUDA runtime failures into ProviderErrors', () => {
      const e = new Error('CUDA failure 100: no CUDA-capable device is detected ; GPU=0');
      const w = wrapSessionError(e, { kind: 'cuda', deviceId: 3 }) as ProviderError;
      expect(w).to.be.instanceOf(ProviderError);
      expect(w.code).to.equal('cuda-runtime');
      expect(w.message).to.include('cuda:3').and.include('CUDA_VISIBLE_DEVICES');
      expect(w.cause).to.equal(e);
    });
  });
});
