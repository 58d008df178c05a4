/**
 * The generative models of `chainrule train autoencoder|vae|gan`, written as a user would write
 * them with chainrule: an autoencoder, a variational autoencoder (the reparameterisation trick
 * and the KL term, trained through fit by its own trainStep), and a GAN's generator and
 * discriminator (MLPs on 28×28 digits).
 */
import * as F from '../nn/functional/index.js';
import * as nn from '../nn/index.js';
import { randn } from '../tensor/creation.js';
import type { Generator } from '../tensor/random.js';
import type { Tensor } from '../tensor/tensor.js';
import type { TrainStepResult } from '../train/fit.js';

const PIXELS = 784;

/** 784-256-32-256-784: a 32-number code per digit; outputs pixels in [0, 1] as [N, 784]. */
export function createAutoencoder(): nn.Module {
  return new nn.Sequential(
    new nn.Flatten(),
    new nn.Linear(PIXELS, 256),
    new nn.ReLU(),
    new nn.Linear(256, 32),
    new nn.Linear(32, 256),
    new nn.ReLU(),
    new nn.Linear(256, PIXELS),
    new nn.Sigmoid(),
  );
}

/** The terms of the negative ELBO, each summed over an image and averaged over the batch (nats). */
export interface ElboTerms {
  /** -E_q[log p(x|z)]: Bernoulli cross-entropy of the pixels, one sample of z. */
  reconstruction: Tensor;
  /** KL(q(z|x) || N(0, I)), in closed form. */
  kl: Tensor;
}

/**
 * A variational autoencoder (Kingma & Welling 2013): a Gaussian encoder q(z|x) = N(mu, exp(logvar)),
 * a Bernoulli decoder p(x|z), trained on the negative ELBO with z = mu + sigma·eps.
 * `call(x)` reconstructs from the mean code: pixels [N, 784] in [0, 1].
 */
export class VAE extends nn.Module {
  encoder = new nn.Sequential(new nn.Flatten(), new nn.Linear(PIXELS, 400), new nn.ReLU());
  mu: nn.Linear;
  logvar: nn.Linear;
  decoder: nn.Sequential;

  constructor(
    readonly latent = 16,
    private readonly generator?: Generator,
  ) {
    super();
    this.mu = new nn.Linear(400, latent);
    this.logvar = new nn.Linear(400, latent);
    this.decoder = new nn.Sequential(
      new nn.Linear(latent, 400),
      new nn.ReLU(),
      new nn.Linear(400, PIXELS),
    );
  }

  /** The decoder's pixel probabilities for codes z [N, latent]. */
  decode(z: Tensor): Tensor {
    return this.decoder.call(z).sigmoid();
  }

  forward(x: Tensor): Tensor {
    return this.decode(this.mu.call(this.encoder.call(x)));
  }

  /** The negative ELBO's two terms for images x, with one reparameterised sample of z. */
  elboTerms(x: Tensor): ElboTerms {
    const n = x.shape[0];
    const h = this.encoder.call(x);
    const mu = this.mu.call(h);
    const logvar = this.logvar.call(h);
    // The reparameterisation trick: the noise is an input, so the gradient reaches mu and logvar.
    const eps = randn(mu.shape, { generator: this.generator });
    const z = mu.add(logvar.mul(0.5).exp().mul(eps));
    const logits = this.decoder.call(z);
    const target = x.reshape([n, PIXELS]);
    const reconstruction = F.binaryCrossEntropyWithLogits(logits, target, {
      reduction: 'sum',
    }).div(n);
    const kl = logvar.add(1).sub(mu.square()).sub(logvar.exp()).sum().mul(-0.5).div(n);
    return { reconstruction, kl };
  }

  trainStep(x: Tensor): TrainStepResult {
    const { reconstruction, kl } = this.elboTerms(x);
    const loss = reconstruction.add(kl);
    loss.backward();
    return { loss };
  }
}

/** Noise [N, latent] → digits [N, 784] in [0, 1]; batch norm keeps its early steps well scaled. */
export function createGenerator(latent: number): nn.Module {
  return new nn.Sequential(
    new nn.Linear(latent, 256),
    new nn.BatchNorm1d(256),
    new nn.ReLU(),
    new nn.Linear(256, 512),
    new nn.BatchNorm1d(512),
    new nn.ReLU(),
    new nn.Linear(512, PIXELS),
    new nn.Sigmoid(),
  );
}

/**
 * Digits [N, 1, 28, 28] or [N, 784] → one logit per digit (real vs generated), [N, 1]. Dropout
 * keeps it from winning outright on 8,000 images (a discriminator loss near 0 starves the generator).
 */
export function createDiscriminator(): nn.Module {
  return new nn.Sequential(
    new nn.Flatten(),
    new nn.Linear(PIXELS, 512),
    new nn.LeakyReLU(0.2),
    new nn.Dropout(0.3),
    new nn.Linear(512, 256),
    new nn.LeakyReLU(0.2),
    new nn.Dropout(0.3),
    new nn.Linear(256, 1),
  );
}
