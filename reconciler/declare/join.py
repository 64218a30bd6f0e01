"""Join the documents of all share files: one BucketShare per bucket, conflicts reported at both places."""

from __future__ import annotations

from reconciler.declare.model import Adoption, BucketShare, Declarations, Document, Grant
from reconciler.errors import Problem


def join_documents(documents: list[Document]) -> tuple[Declarations, list[Problem]]:
    """Merge the documents that declare one bucket, refusing conflicting accounts and repeats."""
    by_bucket: dict[str, list[Document]] = {}
    for document in documents:
        by_bucket.setdefault(document.bucket, []).append(document)
    problems: list[Problem] = []
    shares = []
    for bucket in sorted(by_bucket):
        share, share_problems = _merge_bucket(bucket, by_bucket[bucket])
        problems.extend(share_problems)
        if share is not None:
            shares.append(share)
    return Declarations(tuple(shares)), problems


def _merge_bucket(bucket: str, documents: list[Document]) -> tuple[BucketShare | None, list[Problem]]:
    problems: list[Problem] = []
    first = documents[0]
    for other in documents[1:]:
        if other.account and first.account and other.account != first.account:
            problems.append(
                Problem(
                    other.account_location or other.bucket_location,
                    f"bucket {bucket} is declared with account {other.account} here but "
                    f"{first.account} at {first.account_location}; one bucket has one owner",
                )
            )
    # Keyed by the grantee's kind and id, which name it (model.Grantee): hashing those strings
    # costs a third of hashing the Grantee, once or more for each of 100,000 grants.
    seen: dict[tuple[str, str, str], Grant] = {}
    grants = []
    for document in documents:
        for grant in document.grants:
            grantee = grant.grantee
            for prefix in grant.prefixes or ("",):
                key = (grantee.kind, grantee.id, prefix)
                earlier = seen.get(key)
                if earlier is not None:
                    scope = prefix or "the whole bucket"
                    problems.append(
                        Problem(
                            grant.location,
                            f"{grant.grantee.describe()} is granted {scope} of {bucket} twice: "
                            f"here and at {earlier.location}; merge them into one grant",
                        )
                    )
                    break
                seen[key] = grant
            else:
                grants.append(grant)
    adopted: dict[str, Adoption] = {}
    for adoption in (a for d in documents for a in d.adopted):
        if adoption.sid in adopted:
            problems.append(
                Problem(
                    adoption.location,
                    f"statement {adoption.sid!r} of {bucket} is adopted twice: here and at "
                    f"{adopted[adoption.sid].location}; keep one",
                )
            )
        adopted.setdefault(adoption.sid, adoption)
    create = any(d.create for d in documents)
    versioning = [d.versioning for d in documents if d.versioning is not None]
    if versioning and not create:
        # Versioning is a setting of the bucket apply creates; bucketshare never changes an
        # existing bucket's settings, so alone it would silently do nothing.
        problems.append(
            Problem(
                versioning[0],
                f"versioning: true applies only to a bucket bucketshare creates; add create: true "
                f"for {bucket}, or enable versioning on the existing bucket by hand and remove this",
            )
        )
    account = first.account
    if account is None or problems:
        return None, problems
    owners = tuple(sorted({d.owner for d in documents if d.owner}))
    locations = tuple(d.bucket_location for d in documents)
    modes = [d.kms for d in documents if d.kms is not None]
    for mode, where in modes[1:]:
        if mode != modes[0][0]:
            problems.append(
                Problem(where, f"kms: {mode} here, but kms: {modes[0][0]} at {modes[0][1]}; say it once")
            )
    if problems:
        return None, problems
    kms = modes[0][0] if modes else None
    share = BucketShare(
        bucket,
        account,
        tuple(grants),
        locations,
        owners,
        tuple(adopted.values()),
        create=create,
        versioning=bool(versioning),
        kms=kms,
    )
    return share, problems
