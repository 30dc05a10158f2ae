/**
 * The `ops` group's RoI cases (bench/ops.ts runs them): `F.roiAlign` and `F.roiPool` on a Mask
 * R-CNN-sized map beside torchvision.ops.roi_align / roi_pool on PyTorch-CPU with the same
 * thread count. Without torchvision the Python side fails to import and the rows have ours alone
 * (the harness notes why). The boxes are the same on both sides (a fixed formula, not a draw).
 */
import * as cc from '../lib';

const { F } = cc;
type F32 = cc.Tensor<'float32'>;

/** A case as bench/ops.ts's `Case`: `torch` defines run() with randn and F in scope; `ours` makes one run. */
export interface RoiCase { name: string; torch: string; ours: () => () => void }

export function roiCases(quick: boolean): RoiCase[] {
  const q = (full: number, small: number) => (quick ? small : full);
  // Stride 16 on an 800 x 1088 image (Mask R-CNN's C4 map), two images, 512 boxes of 32-432 px.
  const shape = [2, q(256, 4), q(50, 8), q(68, 10)];
  const K = q(512, 8), image = [shape[3] * 16, shape[2] * 16];
  const rows: number[] = [];
  for (let k = 0; k < K; k++) {
    const x1 = (k * 37) % (image[0] - 32), y1 = (k * 53) % (image[1] - 32);
    rows.push(k % 2, x1, y1, x1 + 32 + ((k * 97) % 400), y1 + 32 + ((k * 71) % 300));
  }
  const torchBoxes = `torch.tensor([[k % 2, x1, y1, x1 + 32 + (k * 97) % 400, y1 + 32 + (k * 71) % 300] ` +
    `for k, x1, y1 in ((k, (k * 37) % ${image[0] - 32}, (k * 53) % ${image[1] - 32}) for k in range(${K}))], dtype=torch.float32)`;
  const s = JSON.stringify(shape);
  const ops: { name: string; torch: string; ours: (x: F32, boxes: F32) => F32 }[] = [
    {
      name: 'roiAlign 7x7 sampling 2 aligned', torch: 'roi_align(x, boxes, (7, 7), 1 / 16, 2, True)',
      ours: (x, b) => F.roiAlign(x, b, 7, { spatialScale: 1 / 16, samplingRatio: 2, aligned: true }),
    },
    {
      name: 'roiAlign 7x7 adaptive', torch: 'roi_align(x, boxes, (7, 7), 1 / 16, -1, False)',
      ours: (x, b) => F.roiAlign(x, b, 7, { spatialScale: 1 / 16 }),
    },
    { name: 'roiPool 7x7', torch: 'roi_pool(x, boxes, (7, 7), 1 / 16)', ours: (x, b) => F.roiPool(x, b, 7, 1 / 16) },
  ];
  const cases: RoiCase[] = [];
  const setup = `from torchvision.ops import roi_align, roi_pool\nboxes = ${torchBoxes}`;
  for (const op of ops) {
    const dyShape = JSON.stringify([K, shape[1], 7, 7]);
    cases.push({
      name: `${op.name} fwd ${s} ${K} boxes`,
      torch: `${setup}\nx = randn(*${s})\ndef run():\n    with torch.no_grad(): ${op.torch}`,
      ours: () => {
        const x = cc.randn(shape) as F32, b = cc.tensor(rows, { shape: [K, 5] }) as F32;
        return () => { cc.tidy(() => { op.ours(x, b); }); };
      },
    });
    cases.push({
      name: `${op.name} fwd+bwd ${s} ${K} boxes`,
      torch: `${setup}\nx = randn(*${s}, grad=True); dy = randn(*${dyShape})\ndef run(): torch.autograd.grad(${op.torch}, [x], dy)`,
      ours: () => {
        const x = cc.randn(shape, 0, 1, { requiresGrad: true }) as F32, b = cc.tensor(rows, { shape: [K, 5] }) as F32;
        const dy = cc.randn([K, shape[1], 7, 7]);
        return () => {
          cc.tidy(() => { op.ours(x, b).backward(dy); });
          x.zeroGrad();
        };
      },
    });
  }
  return cases;
}
