# The GRID_LRT testbed notebook, section 2 (staging files), ported to grid-lrt.
#
# What changed against the original cells (../shared/seeds/GRID_LRT-testbed-notebook.txt):
#   * imports: GRID_LRT.Staging.* -> grid_lrt.client.staging.*
#   * the path of the test SURL list
#   * the services come from the environment: LRT_LTA_URL (the LTA stager), LOFAR_LTA_USER /
#     LOFAR_LTA_PWD, and LRT_STATUS_DOOR (a WebDAV door with the Tape REST API for user.status)
#   * the last cell re-runs the status cells once the request is done (the notebook said to
#     "re-run the cell below"), in a loop instead of by hand
# ruff: noqa
import os
import time

from grid_lrt.client.staging import stage_all_LTA
from grid_lrt.client.staging import state_all
from grid_lrt.client.staging import stager_access

HERE = os.path.dirname(os.path.abspath(__file__))
test_srm_file = os.path.join(HERE, "..", "data", "srm_50_sara.txt")

os.path.exists(test_srm_file)
with open(test_srm_file, "r") as f:
    file_contents = f.read()
    print(file_contents.split()[0:3])
stageID = stage_all_LTA.main(test_srm_file)  # NOTE! You (oll get two emails every time you do this!
print(stageID)

print(stage_all_LTA.get_stage_status(stageID))  # crashes (py2.7?)  -- not any more
# The code below can also show you a more detailed status
statuses = stager_access.get_progress()

print(statuses)

statuses = stage_all_LTA.get_stage_status(stageID)
## When the staging completes, your stageID magically disappears from the database
if not statuses:
    print("Staging status no longer in LTA Database")
else:
    print("Staging request " + str(stageID) + " has status: " + str(statuses))

print(state_all.__file__)
staged_status = state_all.main(
    test_srm_file
)  # Only works for Sara and Poznan files!  -- all three now

# You can also supress the printing of statuses
staged_status1 = state_all.main(test_srm_file, printout=False)
print("percent staged: %.1f" % (100 * state_all.percent_staged(staged_status1)))

# Re-running the status cells until the request is done:
while stage_all_LTA.get_stage_status(stageID) in ("new", "scheduled", "in progress"):
    time.sleep(0.2)
print(
    "Staging request "
    + str(stageID)
    + " has status: "
    + str(stage_all_LTA.get_stage_status(stageID))
)
staged_status2 = state_all.main(test_srm_file, printout=False)
print("percent staged: %.1f" % (100 * state_all.percent_staged(staged_status2)))
