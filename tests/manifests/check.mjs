// Checks every object deploy/k8s applies (the resources of its kustomization) and the Secrets' template against the
// Kubernetes and KEDA schemas (SPEC §9.1: there is no cluster here to refuse them). The RabbitMQ operators' kinds have no
// schema published on npm: they are named, not checked. Usage: node check.mjs <folder with kustomization.yaml>
import fs from 'node:fs';
import path from 'node:path';
import * as yaml from 'js-yaml';

const folder = path.resolve(process.argv[2] ?? '../../deploy/k8s');
const kustomization = yaml.load(fs.readFileSync(path.join(folder, 'kustomization.yaml'), 'utf8'));
const files = [...kustomization.resources, 'secret.example.yaml'];
const packages = { 'keda.sh': '@kubernetes-models/keda/keda.sh' };
const unpublished = new Set(['rabbitmq.com/v1beta1']);

let valid = 0;
let invalid = 0;
for (const file of files) {
  for (const object of yaml.loadAll(fs.readFileSync(path.join(folder, file), 'utf8')).filter(Boolean)) {
    const name = `${file}: ${object.kind}/${object.metadata?.name}`;
    if (unpublished.has(object.apiVersion)) {
      console.log(`not checked (no published schema)  ${name}`);
      continue;
    }

    const [group, version] = object.apiVersion.includes('/') ? object.apiVersion.split('/') : [null, object.apiVersion];
    const module = group ? `${packages[group] ?? `kubernetes-models/${group}`}/${version}` : `kubernetes-models/${version}`;
    const model = await import(module).then(exports => exports[object.kind], () => undefined);
    try {
      if (!model) {
        throw new Error(`no schema for ${object.apiVersion} ${object.kind}`);
      }

      new model(object).validate();
      valid++;
      console.log(`valid  ${name}`);
    } catch (error) {
      invalid++;
      console.log(`INVALID  ${name}: ${error.message}`);
    }
  }
}

console.log(`${valid} valid, ${invalid} invalid`);
process.exit(invalid === 0 && valid > 0 ? 0 : 1);
