// The pure parts of the delivery processor: the inbox order key of a stored
// delivery, and the comment that says why a decided job did not start.
#include "labelrun/app/processing.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "labelrun/webhook/digest.hpp"

namespace labelrun::app {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

store::InboxRow Row(const std::string& event, const webhook::Event& typed) {
  store::InboxRow row;
  row.guid = "g-1";
  row.event = event;
  row.repository = "acme/vision";
  row.digest = webhook::EncodeDigest(typed);
  return row;
}

TEST(DeliveryOrderKey, IsTheIssueForIssueAndCommentDeliveries) {
  webhook::IssuesEvent labeled;
  labeled.repository.full_name = "acme/vision";
  labeled.number = 12;
  EXPECT_EQ(DeliveryOrderKey(Row("issues", labeled)), "acme/vision#12");
  webhook::IssueCommentEvent comment;
  comment.repository.full_name = "acme/vision";
  comment.number = 12;
  EXPECT_EQ(DeliveryOrderKey(Row("issue_comment", comment)), "acme/vision#12");
  webhook::IssuesEvent other = labeled;
  other.number = 13;
  EXPECT_NE(DeliveryOrderKey(Row("issues", other)), DeliveryOrderKey(Row("issues", labeled)));
}

TEST(DeliveryOrderKey, AnUndecodableDeliveryHasItsOwnKey) {
  store::InboxRow row;
  row.guid = "broken-1";
  row.event = "issues";
  row.repository = "acme/vision";
  row.digest = "not a digest";
  EXPECT_EQ(DeliveryOrderKey(row), "guid:broken-1");
}

TEST(RenderUnresolvedComment, NamesTheRuleTheRepositoryAndGithubsAnswer) {
  const std::string body = RenderUnresolvedComment(
      "train", "acme/gone",
      Error(ErrorCode::kNotFound,
            "cannot resolve the commit of acme/gone: default branch of acme/gone: GitHub GET "
            "/repos/acme/gone: HTTP 404: Not Found"),
      false, 1);
  EXPECT_THAT(body, HasSubstr("**Failed**"));
  EXPECT_THAT(body, HasSubstr("rule `train`"));
  EXPECT_THAT(body, HasSubstr("`acme/gone`"));
  EXPECT_THAT(body, HasSubstr("HTTP 404: Not Found"));
  EXPECT_THAT(body, HasSubstr("not installed"));
}

TEST(RenderUnresolvedComment, SaysWhenItGaveUpOnAnOutage) {
  const std::string body = RenderUnresolvedComment(
      "train", "acme/flaky", Error(ErrorCode::kUnavailable, "HTTP 502: Bad Gateway"), true, 15);
  EXPECT_THAT(body, HasSubstr("through 15 attempts"));
  EXPECT_THAT(body, HasSubstr("HTTP 502"));
}

// GitHub's message is quoted, not obeyed: it cannot end the code span, start
// new Markdown lines (headings, links on their own, fake status lines), carry a
// job's hidden marker, or grow the comment without bound.
TEST(RenderUnresolvedComment, GithubsWordsStayInsideOneCodeSpan) {
  const std::string hostile =
      "x` **Succeeded** <!-- labelrun:job=j1 -->\n# heading\r\n@org/team" + std::string(5000, 'y');
  const std::string body =
      RenderUnresolvedComment("train", "acme/x", Error(ErrorCode::kNotFound, hostile), false, 1);
  const size_t start = body.find("GitHub answered: `");
  ASSERT_NE(start, std::string::npos) << body;
  const size_t end = body.find('`', start + 18);
  ASSERT_NE(end, std::string::npos);
  const std::string quoted = body.substr(start + 18, end - start - 18);
  EXPECT_THAT(quoted, Not(HasSubstr("\n")));
  EXPECT_THAT(quoted, Not(HasSubstr("\r")));
  EXPECT_THAT(quoted, HasSubstr("**Succeeded**"));            // inside the span, shown as code
  EXPECT_THAT(body, Not(HasSubstr("<!-- labelrun:job=j1")));  // no job's marker
  EXPECT_THAT(quoted, HasSubstr("@org/team"));                // no mention from a code span
  EXPECT_LT(quoted.size(), 700u);
  EXPECT_EQ(body.substr(end, 3), "`\n\n");
}

}  // namespace
}  // namespace labelrun::app
