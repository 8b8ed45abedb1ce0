# Import graph of a module tree: an edge A -> B when module A `use`s an item
# of module B (outside its tests); a cycle is a strongly connected
# component of more than one module. Usage: modcycles.py DIR ROOTNAME
import os, re, sys
root, rootname = sys.argv[1], sys.argv[2]
mods = {}
for dp, _, fs in os.walk(root):
    for f in fs:
        if not f.endswith('.rs'):
            continue
        rel = os.path.relpath(os.path.join(dp, f), root)[:-3]
        rel = rel[:-4] if rel.endswith('/mod') else ('' if rel == 'mod' else rel)
        name = rootname + ('::' + rel.replace('/', '::') if rel else '')
        src = open(os.path.join(dp, f)).read()
        cut = src.find('#[cfg(test)]')
        mods[name] = src if cut < 0 else src[:cut]
edges = {m: set() for m in mods}
for m, src in mods.items():
    for path in re.findall(r'^use ([\w:]+)', src, re.M):
        parts = path.split('::')
        cur, k = m, 0
        if parts[0] == 'crate':
            cur, k = 'crate', 1
        while k < len(parts) and parts[k] == 'super':
            cur, k = cur.rsplit('::', 1)[0], k + 1
        if k < len(parts) and parts[k] == 'self':
            k += 1
        if cur == 'crate':
            cur = 'crate'
        target = None
        probe = cur
        while k < len(parts):
            nxt = f"{probe}::{parts[k]}" if probe != 'crate' else parts[k]
            if nxt in mods:
                target, probe, k = nxt, nxt, k + 1
            else:
                break
        if target is None and cur in mods and cur != m and (parts[0] in ('super', 'self')):
            target = cur
        if target and target != m:
            edges[m].add(target)
index, low, stack, on, cycles, counter = {}, {}, [], set(), [], [0]
def visit(v):
    index[v] = low[v] = counter[0]; counter[0] += 1; stack.append(v); on.add(v)
    for w in edges[v]:
        if w not in index:
            visit(w); low[v] = min(low[v], low[w])
        elif w in on:
            low[v] = min(low[v], index[w])
    if low[v] == index[v]:
        comp = []
        while True:
            w = stack.pop(); on.discard(w); comp.append(w)
            if w == v:
                break
        if len(comp) > 1:
            cycles.append(sorted(comp))
for v in edges:
    if v not in index:
        visit(v)
for m in sorted(edges):
    print(m, '->', ', '.join(sorted(edges[m])))
print('cycles:', cycles or 'none')
sys.exit(1 if cycles else 0)
