# The GRID_LRT testbed notebook, sections 3, 4a and 4b, ported to grid-lrt.
#
# What changed against the original cells (../shared/seeds/GRID_LRT-testbed-notebook.txt):
#   * imports: GRID_LRT.* -> grid_lrt.client.*
#   * the server: TokenHandler takes it from PICAS_URL (srv= still works)
#   * the paths of the test SURL list and the tutorial config
# Everything else is the notebook's code, cell by cell.
# ruff: noqa
import os
import sys

from grid_lrt.client.credentials import picas_cred
from grid_lrt.client.staging.srmlist import srmlist
from grid_lrt.client import token

pc = picas_cred()
HERE = os.path.dirname(os.path.abspath(__file__))
test_srm_file = os.path.join(HERE, "..", "data", "srm_50_sara.txt")
config_file = os.path.join(HERE, "..", "..", "client", "data", "sample", "tutorial.cfg")

print("## 3. srm lists")
s_list = srmlist()  # Empty list of srms

with open(test_srm_file, "r") as f:
    for i in f.read().split():
        s_list.append(i)
print(s_list.OBSID)
print(s_list.LTA_location)
print(len(s_list))  # len works as with a normal list

juelich_srm = str(
    "srm://lofar-srm.fz-juelich.de:8443/pnfs/"
    + "fz-juelich.de/data/lofar/ops/projects/lc7_012/583139/L583139_SB000_uv.MS_900c9fcf.tar"
)

try:
    s_list.append(juelich_srm)
except AttributeError as e:
    print("Should return Different OBSID than previous items:\n" + str(e))

gsi_generator = s_list.gsi_links()

g_list = []
for i in gsi_generator:
    g_list.append(i)

h_list = []
for i in s_list.http_links():
    h_list.append(i)

stage_list = []
for i in s_list.gfal_links():
    stage_list.append(i)

print("four different links for the same file:")
print("")
print(s_list[0])
print("")
print(g_list[0])  # grid-lrt yields in input order (the original list was backwards: [-1])
print("")
print(h_list[0])
print("")
print(stage_list[0])

from grid_lrt.client.staging.srmlist import slice_dicts

d_10 = slice_dicts(s_list.sbn_dict())
print(sorted(d_10.keys()))  # Will show the 'names' of the chunks of 10  (the starting SB)
print("")

print("d_10['140'] =")
print(d_10["140"])  # 10 srms here
print("")

print("d_10['150'] =")
print(d_10["150"])  # 1 srm here
print("")

print("type(d_10['100']) = " + str(type(d_10["100"])))  # the dict values are srmlist() themselves!
print("d_10['100'].OBSID = " + d_10["100"].OBSID)

d_50 = slice_dicts(s_list.sbn_dict(), 50)
print(sorted(d_50.keys()))  # Will show the 'names' of the chunks of 50  (the starting SB)
print("")

print("## 4a. Tokens, the manual way")
uname = os.environ["USER"]
th = token.TokenHandler(
    t_type="jupyter_demo_" + uname, uname=pc.user, pwd=pc.password, dbn="sksp_dev"
)

# Create the overview_view (has the number of todo, done, error, running, [...] tokens)
th.add_overview_view()

# Add the satus views (By default 'todo', 'locked', 'done', 'error')
th.add_status_views()

# Manually create a token:
manual_keys = {"manual_key": "manual_value", "manual_int": 1024}
man_token_1 = th.create_token(
    keys=manual_keys, append="manual"
)  # will return the id of the manual token
print("manual_token_ID = " + man_token_1)

manual_keys = {"manual_key": "manual_value", "manual_int": 0}
man_token_2 = th.create_token(
    keys=manual_keys,
    append="manual_with_attach",
    attach=[open(test_srm_file), "srm_at_token_create.txt"],
)

##We can also attach files after the token's been created:
th.add_attachment(man_token_2, open(test_srm_file), "srm_added_later.txt")

# Double check that both files were attached. Returns a list of filenames:
man_2_attachies = th.list_attachments(man_token_2)
print("The two attached files are: " + str(man_2_attachies))

# We can also of course download attachments:
saved_attach = th.get_attachment(man_token_2, man_2_attachies[0], savename=man_2_attachies[0])
print("")
print("The attachemnt " + str(man_2_attachies[0]) + " was saved at " + saved_attach)

assert os.path.exists(saved_attach)
os.remove(saved_attach)
assert not os.path.exists(saved_attach)

print(sorted(th.views.keys()))  # the views member of th is a dictionary of views
locked_tokens = th.list_tokens_from_view("locked")

print(type(locked_tokens))  # It's not a list!!
print("There are " + str(len(locked_tokens)) + " 'locked' tokens")

todo_tokens = th.list_tokens_from_view("todo")

print("There are " + str(len(todo_tokens)) + " 'todo' tokens")
print("")
print("They are:")
for i in todo_tokens:
    print("CouchDB token keys: " + str(sorted(i.keys())), "Token ID: " + i.id)

print("Lock status of the token: " + str(th.database[man_token_2]["lock"]) + ".")
print("Scrub count of the token: " + str(th.database[man_token_2]["scrub_count"]) + ".")
print("There are " + str(len(th.list_tokens_from_view("todo"))) + " 'todo' tokens")
print("There are " + str(len(th.list_tokens_from_view("locked"))) + " 'locked' tokens")
print("")
print("Setting status to locked for all todo tokens")
th.set_view_to_status(view_name="todo", status="locked")  # Sets all todo tokens to "locked"

todo_tokens = th.list_tokens_from_view("todo")
print("")

print("There are " + str(len(todo_tokens)) + " 'todo' tokens")
### No more todo tokens!

locked_tokens = th.list_tokens_from_view("locked")
print("There are " + str(len(locked_tokens)) + " 'locked' tokens")
##Now they're all locked!

print("Lock status of the token: " + str(th.database[man_token_2]["lock"]) + ".")
# You can reset all tokens from a view back to 'todo'. This increments the scrub_count field

resetted_tokens = th.reset_tokens("locked")
print("")
print("Resetting the locked tokens")
print("Scrub count of the token: " + str(th.database[man_token_2]["scrub_count"]) + ".")
print("There are " + str(len(th.list_tokens_from_view("todo"))) + " 'todo' tokens")
print("There are " + str(len(th.list_tokens_from_view("locked"))) + " 'locked' tokens")

th.add_view(
    v_name="demo_view", cond="doc.manual_int == 0 "
)  # Only one of our tokens has manual_int==0
print(th.views["demo_view"])  # new view is here!

assert len(th.list_tokens_from_view("demo_view")) == 1
print("There is " + str(len(th.list_tokens_from_view("demo_view"))) + " tokens in the demo_view")

_ = th.create_token(
    keys=manual_keys,
    append="manual_with_attach_1",
    attach=[open(test_srm_file), "srm_at_token_create.txt"],
)
_ = th.create_token(
    keys=manual_keys,
    append="manual_with_attach_2",
    attach=[open(test_srm_file), "srm_at_token_create.txt"],
)
print("There are " + str(len(th.list_tokens_from_view("demo_view"))) + " tokens in the demo_view")
assert len(th.list_tokens_from_view("demo_view")) == 3

th.delete_tokens("demo_view")
assert len(th.list_tokens_from_view("demo_view")) == 0
print("There are " + str(len(th.list_tokens_from_view("demo_view"))) + " tokens in the demo_view")

# You can also clear all the views from the database
th.clear_all_views()
# And you can remove the head document (will no longer be visible in the dropdown)
th.purge_tokens()

print("## 4b. Tokens, the automatic way")
th = token.TokenHandler(
    t_type="jupyter_demo_" + uname, uname=pc.user, pwd=pc.password, dbn="sksp_unittest"
)
th.add_overview_view()
th.add_status_views()

ts = token.TokenSet(th=th)

print(type(d_10))
ts.create_dict_tokens(iterable=d_10, key_name="start_SB", file_upload="srm.txt")

for t in th.list_tokens_from_view("todo"):
    print("Token ID is " + t["key"] + " AND start_SB Value is " + th.database[t["key"]]["start_SB"])

tokens = ts.tokens
print(th.database[ts.tokens[0]])

th.delete_tokens("error")

ts = token.TokenSet(
    th=th, tok_config=config_file
)  # Now we'll use the YAML configuration file to create more fields!

# Slicing our list of srms to have one token per Dict Item
d_1 = slice_dicts(s_list.sbn_dict(), 1)

ts.create_dict_tokens(
    iterable=d_1, key_name="STARTSB", file_upload="srm.txt"
)  # Let's make some more Tokens this time

print(ts.tokens[0:10])

print(ts.th.database[ts.tokens[33]])
ts.add_keys_to_list("OBSID", s_list.OBSID)
ts.add_keys_to_list("PIPELINE", "tutorial1")

print("There are " + str(len(th.list_tokens_from_view("todo"))) + " 'todo' tokens")
ts.th.delete_tokens("todo")
print("There are " + str(len(th.list_tokens_from_view("todo"))) + " 'todo' tokens")
