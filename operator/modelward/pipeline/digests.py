"""`spec.requireDigest`: a policy that admits only references pinned to a digest."""

from __future__ import annotations

from modelward.structs import evidence, policy, refs


def mutable_denial(
    pol: policy.Policy, pinned: refs.PinnedRef, *, will_pin: bool
) -> evidence.PolicyResult | None:
    """A failed result when `pol` requires a digest and the reference is mutable as admitted.

    A tag the mutating webhook rewrites to its digest is not mutable as admitted: the object
    that is stored names the digest.
    """
    if not pol.require_digest or not pinned.mutable or will_pin:
        return None
    return evidence.PolicyResult(
        policy=pol.key,
        mode=pol.mode,
        passed=False,
        reason="DigestRequired",
        message=(
            f"the policy requires a digest and {pinned.ref.uri} can change; "
            f"reference {pinned.pinned_uri} instead"
        ),
    )
