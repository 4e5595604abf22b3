"""The generator's training objective: ZINB likelihood of observed counts plus the KL term of ``z``."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from ..modeling import InstructCellModel

EPS = 1e-8


def zinb_log_likelihood(
    x: torch.Tensor, mu: torch.Tensor, theta: torch.Tensor, zi_logits: torch.Tensor
) -> torch.Tensor:
    """Per-entry log-likelihood of counts ``x`` under ZINB(mu, theta, logit pi) (scVI's parameterisation)."""
    softplus_pi = F.softplus(-zi_logits)
    log_theta_mu = torch.log(theta + mu + EPS)
    pi_theta_log = -zi_logits + theta * (torch.log(theta + EPS) - log_theta_mu)
    case_zero = F.softplus(pi_theta_log) - softplus_pi
    case_nonzero = (
        -softplus_pi
        + pi_theta_log
        + x * (torch.log(mu + EPS) - log_theta_mu)
        + torch.lgamma(x + theta)
        - torch.lgamma(theta)
        - torch.lgamma(x + 1)
    )
    return torch.where(x < EPS, case_zero, case_nonzero)


def generator_loss(
    model: InstructCellModel, condition: torch.Tensor, counts: torch.Tensor, kl_weight: float = 1.0
) -> torch.Tensor:
    """Negative ELBO per gene (KL term times ``kl_weight``), averaged over cells.

    ``z`` is encoded from the counts and the condition, decoded with the condition, scored. A
    ``kl_weight`` above 1 keeps ``z`` from carrying the cell type, so the condition has to.

    The log library fed to the generator is the observed ``log(total counts)``; at inference it
    is drawn from the prior stored in ``library_log_means``/``library_log_vars``.
    """
    gen = model.assistant.feature_decoder
    vae = gen.base_model
    c = gen.mapping_layer(condition)
    h = vae.z_encoder.encoder(torch.cat([torch.log1p(counts), c], dim=-1))
    mean = vae.z_encoder.mean_encoder(h)
    var = torch.exp(vae.z_encoder.var_encoder(h)) + 1e-4
    z = mean + var.sqrt() * torch.randn_like(mean)
    log_library = torch.log(counts.sum(dim=-1, keepdim=True).clamp_min(1.0))
    mu, theta, zi = gen(condition, z, log_library)
    nll = -zinb_log_likelihood(counts, mu, theta, zi).sum(dim=-1)
    kl = 0.5 * (var + mean**2 - 1.0 - torch.log(var)).sum(dim=-1)
    return ((nll + kl_weight * kl) / counts.shape[-1]).mean()


def sample_zinb(mu: torch.Tensor, theta: torch.Tensor, zi_logits: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    """Draw counts: Poisson(Gamma(theta, theta/mu)), set to zero with probability sigmoid(zi_logits)."""
    gamma = torch.distributions.Gamma(theta, theta / mu.clamp_min(EPS))
    torch.manual_seed(int(torch.randint(0, 2**31 - 1, (1,), generator=gen)))
    lam = gamma.sample()
    counts = torch.poisson(lam, generator=gen)
    dropout = torch.rand(mu.shape, generator=gen) < torch.sigmoid(zi_logits)
    return torch.where(dropout, torch.zeros_like(counts), counts)
