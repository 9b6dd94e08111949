"""The default category tree every user starts with, and the rules of nesting (no I/O)."""

import uuid

Node = tuple[str, str, str, tuple[str, ...]]
"""(name, icon, colour, children)"""

DEFAULT_TREE: tuple[Node, ...] = (
    ("Food & Dining", "utensils", "#E57373", ("Groceries", "Restaurants", "Coffee & Snacks")),
    ("Transportation", "car", "#64B5F6", ("Fuel", "Public Transport", "Taxi & Rideshare", "Parking")),
    ("Housing", "home", "#81C784", ("Rent & Mortgage", "Utilities", "Home Maintenance")),
    ("Shopping", "shopping-bag", "#BA68C8", ("Clothing", "Electronics", "Household")),
    ("Entertainment", "film", "#FFB74D", ("Subscriptions", "Events & Outings", "Hobbies")),
    ("Health", "heart", "#F06292", ("Medical", "Pharmacy", "Fitness")),
    ("Education", "book", "#4DB6AC", ()),
    ("Travel", "plane", "#4FC3F7", ()),
    ("Personal Care", "smile", "#A1887F", ()),
    ("Bills & Fees", "file-text", "#90A4AE", ("Phone & Internet", "Bank Fees")),
    ("Insurance", "shield", "#7986CB", ()),
    ("Gifts & Donations", "gift", "#FF8A65", ()),
    ("Taxes", "landmark", "#9575CD", ()),
    ("Other", "more-horizontal", "#BDBDBD", ()),
)


def default_rows(user_id: uuid.UUID) -> list[dict[str, object]]:
    """The tree as rows with fresh ids, parents first, children inheriting the parent's icon and colour."""
    rows: list[dict[str, object]] = []
    for name, icon, color, children in DEFAULT_TREE:
        parent = uuid.uuid4()
        rows.append(_row(user_id, parent, name, icon, color, None))
        rows.extend(_row(user_id, uuid.uuid4(), child, icon, color, parent) for child in children)
    return rows


def _row(
    user_id: uuid.UUID, id_: uuid.UUID, name: str, icon: str, color: str, parent: uuid.UUID | None
) -> dict[str, object]:
    return {
        "id": id_,
        "user_id": user_id,
        "name": name,
        "icon": icon,
        "color": color,
        "parent_category_id": parent,
        "is_system": True,
    }


def descendants(parent_of: dict[uuid.UUID, uuid.UUID | None], root: uuid.UUID) -> set[uuid.UUID]:
    """`root` and every category below it."""
    children: dict[uuid.UUID, list[uuid.UUID]] = {}
    for node, parent in parent_of.items():
        if parent is not None:
            children.setdefault(parent, []).append(node)
    found = {root}
    stack = [root]
    while stack:
        for child in children.get(stack.pop(), []):
            if child not in found:
                found.add(child)
                stack.append(child)
    return found


def creates_cycle(parent_of: dict[uuid.UUID, uuid.UUID | None], node: uuid.UUID, new_parent: uuid.UUID) -> bool:
    """Whether making `new_parent` the parent of `node` would put `node` below itself."""
    return new_parent in descendants(parent_of, node)


def with_ancestors(used: set[uuid.UUID], parent_of: dict[uuid.UUID, uuid.UUID | None]) -> set[uuid.UUID]:
    """`used` and every category above one of them (within `parent_of`): what a purge must keep so that
    a budget on a parent still counts the children rows file under."""
    kept: set[uuid.UUID] = set()
    for node in used:
        current: uuid.UUID | None = node
        while current is not None and current in parent_of and current not in kept:
            kept.add(current)
            current = parent_of[current]
    return kept
