import cProfile, pstats, sys, tempfile, time
sys.path.insert(0, "bench")
from pathlib import Path
from datetime import UTC, datetime
from identity import build_rows, insert_raw
from partitur.context import Context
from partitur.core.clock import VirtualClock
from partitur.identity.loops import IdentityResolver
from partitur.settings import Settings
tmp = tempfile.mkdtemp(); db = Path(tmp) / "b.db"
ctx = Context.open(Settings(database_url=f"sqlite:///{db}", sqlite_synchronous="NORMAL"), clock=VirtualClock(datetime(2026, 6, 1, tzinfo=UTC)))
first, links = build_rows(1_000_000, 200_000, 50_000, ctx.workspace_id)
r = IdentityResolver(ctx)
insert_raw(db, first); r.run_until_idle()
insert_raw(db, links)
pr = cProfile.Profile(); t = time.perf_counter(); pr.enable(); r.run_until_idle(); pr.disable()
print("pass 2 wall", time.perf_counter() - t)
pstats.Stats(pr).sort_stats("cumulative").print_stats(45)
